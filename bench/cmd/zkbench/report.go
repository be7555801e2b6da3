package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// report is everything one run measured, and renders it.
type report struct {
	command  string
	started  time.Time
	took     time.Duration
	quick    bool
	external bool
	servers  int // ensemble size
	cfg      config
	machine  machine

	uncontended uncontendedResult
	contended   contendedResult
	handoff     handoffResult
}

// Section headings: the smoke test checks that each is present.
const (
	hMachine     = "## Machine"
	hTargets     = "## Targets"
	hRoundTrips  = "## Round trips per uncontended Lock+Unlock"
	hFloor       = "## 1. Floor and session overhead"
	hUncontended = "## 2. Uncontended Lock+Unlock"
	hContended   = "## 3. Contended throughput"
	hHandoff     = "## 4. Handoff latency"
	hReadLock    = "## 5. Read lock, concurrent readers"
	hSemaphore   = "## 6. Semaphore throughput"
	hMethod      = "## Method"
)

// target is one of the goals, judged on this run's figures.
type target struct {
	what      string
	measured  float64 // a ratio
	threshold string
	pass      bool
}

func (r report) targets() []target {
	floor := r.uncontended.get(opFloor).p50
	lockRatio := ratio(r.uncontended.get(opZkcoord).p50, floor)
	lo, hi := r.cfg.waiters[0], r.cfg.waiters[len(r.cfg.waiters)-1]
	handoffRatio := ratio(r.handoff.get("zkcoord", hi).p50, r.handoff.get("zkcoord", lo).p50)
	through := medianFloat(r.contended.rates["zkcoord"]) / medianFloat(r.contended.rates["zklock"])
	readRatio := ratio(r.uncontended.get(opReaders).p50, r.uncontended.get(opMutexes).p50)
	return []target{
		{"Uncontended zkcoord Lock+Unlock median ÷ create+delete floor median",
			lockRatio, "≤ 1.10×", lockRatio <= 1.10},
		{fmt.Sprintf("zkcoord handoff median at %d waiters ÷ at %d", hi, lo),
			handoffRatio, "0.80×–1.20× (within 20 %)", math.Abs(handoffRatio-1) <= 0.20},
		{fmt.Sprintf("Contended throughput, zkcoord ÷ zk.Lock (%d clients)", r.contended.clients),
			through, "≥ 1.50×", through >= 1.50},
		{fmt.Sprintf("Read lock with %d concurrent readers ÷ uncontended mutex (%d concurrent clients, a mutex each), medians", r.uncontended.readers, r.uncontended.readers),
			readRatio, "≤ 1.20×", readRatio <= 1.20},
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
func x(f float64) string        { return fmt.Sprintf("%.2f×", f) }
func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func (r report) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	u, c, h := r.uncontended, r.contended, r.handoff
	floor, session, read := u.get(opFloor), u.get(opSession), u.get(opRead)
	ours, theirs := u.get(opZkcoord), u.get(opZkLock)
	wire := func(key string) shapes {
		for _, o := range u.ops {
			if o.key == key {
				return o.wire
			}
		}
		return shapes{}
	}
	lo, hi := r.cfg.waiters[0], r.cfg.waiters[len(r.cfg.waiters)-1]
	ourRate, theirRate := medianFloat(c.rates["zkcoord"]), medianFloat(c.rates["zklock"])

	p("# zkcoord benchmark results")
	p("")
	if r.quick {
		p("**Quick smoke run (`-quick`): tiny samples, the figures mean nothing.**")
		p("")
	}
	p("- Command (from the repository root): `%s`", r.command)
	p("- Date: %s", r.started.UTC().Format("2006-01-02 15:04 MST"))
	p("- Whole run, ensemble start included: %s", r.took.Round(time.Second))
	p("")

	p(hMachine)
	p("")
	p("| | |")
	p("|---|---|")
	p("| CPUs (nproc) | %d |", r.machine.nproc)
	p("| CPU | %s |", r.machine.cpu)
	p("| Memory | %s |", r.machine.memory)
	p("| OS | %s |", r.machine.os)
	p("| Go | %s |", r.machine.goVersion)
	if r.external {
		p("| ZooKeeper | %s |", r.machine.zookeeper)
	} else {
		p("| ZooKeeper | %s; 3 servers on loopback started by zktest (tickTime %v, forceSync=no), on the same machine as the clients |",
			r.machine.zookeeper, tickTime)
	}
	p("| Java | %s |", r.machine.java)
	p("")
	p("The machine is shared and noisy: every comparison below is between figures measured side by side in this run, and medians are quoted.")
	p("")

	p(hTargets)
	p("")
	p("| target | measured | threshold | result |")
	p("|---|---|---|---|")
	for _, t := range r.targets() {
		p("| %s | %s | %s | %s |", t.what, x(t.measured), t.threshold, verdict(t.pass))
	}
	p("")
	p("What bounds each (figures from the sections below):")
	p("")
	zw, kw := wire(opZkcoord).minWaits, wire(opZkLock).minWaits
	bound := func(waits int) float64 {
		return ratio(floor.p50+time.Duration(max(0, waits-2))*read.p50, floor.p50)
	}
	floorSeq, pipelined := u.get(opFloorSeq), u.get(opPipelined)
	p("- **Uncontended ÷ floor.** On the wire a Lock+Unlock waits for the server %d times with zkcoord and %d times with zk.Lock, the floor twice. Each wait beyond two costs at least one read (%s here, %.0f %% of the floor), so round trips alone put zkcoord at ≥ %s of the floor and zk.Lock at ≥ %s; measured: %s and %s. zkcoord's %s above the floor splits into its kind of node, %s (the floor with an ephemeral sequential node); the listing pipelined behind the create, %s (Epoch.CreateAndList+Delete against that); and the recipe around them (naming, sorting, lease, goroutines), %s (the mutex against Epoch.CreateAndList+Delete).",
		zw, kw, ms(read.p50), 100*ratio(read.p50, floor.p50), x(bound(zw)), x(bound(kw)),
		x(ratio(ours.p50, floor.p50)), x(ratio(theirs.p50, floor.p50)),
		signedMs(ours.p50-floor.p50), signedMs(floorSeq.p50-floor.p50),
		signedMs(pipelined.p50-floorSeq.p50), signedMs(ours.p50-pipelined.p50))
	zlo, zhi := h.run("zkcoord", lo), h.run("zkcoord", hi)
	zh, kh := summarizeShapes(zlo.shapes), summarizeShapes(h.run("zklock", lo).shapes)
	lLo, lHi := summarize(zlo.listing).p50, summarize(zhi.listing).p50
	hLo, hHi := h.get("zkcoord", lo).p50, h.get("zkcoord", hi).p50
	p("- **Handoff, %d vs %d waiters.** A handoff is, on the wire, `%s` for zkcoord and `%s` for zk.Lock: the holder's delete, the watch event, the successor's listing, as many round trips at any queue length. What grows is the listing: one listing of the whole queue took %s at %d waiters and %s at %d (%s), which alone would make the ratio %s; zkcoord then parses and sorts the names in process, %s at %d and %s at %d. Its handoff median went from %s to %s (%s), of which the listing and the sorting account for %s.",
		hi, lo, zh.pattern, kh.pattern,
		ms(lLo), lo, ms(lHi), hi, signedMs(lHi-lLo), x(ratio(hLo+lHi-lLo, hLo)),
		us(zlo.sorting), lo, us(zhi.sorting), hi,
		ms(hLo), ms(hHi), signedMs(hHi-hLo), signedMs(lHi-lLo+zhi.sorting-zlo.sorting))
	p("- **Contended throughput.** With %d clients the lock is never free: each acquisition is a handoff, %s per acquisition for zkcoord (%.0f acq/s) and %s for zk.Lock (%.0f acq/s). Both wait for the server the same number of times per handoff (%d and %d, section 4), and each of those waits is a ZooKeeper write, a notification or a read that neither client can shorten; 1.5× would need zkcoord to drop one of them, not to do them faster.",
		c.clients, ms(perAcq(ourRate)), ourRate, ms(perAcq(theirRate)), theirRate, zh.minWaits, kh.minWaits)
	alone, readers, mutexes, rlock := ours, u.get(opReaders), u.get(opMutexes), u.get(opRLock)
	p("- **Read lock, %d concurrent readers.** The denominator is the mutex under the same load (the same %d sessions on the same server, each Lock+Unlock on a mutex of its own, in blocks interleaved with the readers'), so that the ratio shows whether readers wait for one another and not what %d clients cost two cores; against the mutex alone (section 2) the readers come out at %s, and the mutexes under the same load at %s. An RLock+RUnlock among %d readers waits for the server %d times at fewest (median %d), as one reader alone (%d), and as a mutex Lock+Unlock (%d): no reader waits for another.",
		u.readers, u.readers, u.readers, x(ratio(readers.p50, alone.p50)), x(ratio(mutexes.p50, alone.p50)),
		u.readers, wire(opReaders).minWaits, wire(opReaders).medWaits, wire(opRLock).minWaits, wire(opZkcoord).minWaits)
	sm := c.sem
	semRate := medianFloat(c.rates[sm.key])
	p("- **Semaphore, %d permits, %d workers.** With an empty critical section the permits are not what limits it: each acquisition passes the semaphore's internal lock one at a time, and alone an Acquire(1)+Release waits for the server %d times (`%s`), against %d for the mutex, so it managed %.0f acq/s (%s per acquisition), %s the contended mutex's %.0f acq/s. Holders hardly overlap (at most %d at once over every run); the saturation check, where each holder keeps its permit %v, had at most %d at once (limit %d): %s.",
		sm.permits, sm.workers, sm.wire.minWaits, sm.wire.pattern, wire(opZkcoord).minWaits,
		semRate, ms(perAcq(semRate)), x(semRate/ourRate), ourRate, c.maxHeld[sm.key], sm.hold, sm.holdMax, sm.permits, limitVerdict(sm.holdMax, c.maxHeld[sm.key], sm.permits))
	p("")

	p(hRoundTrips)
	p("")
	p("Measured on the wire (every client connection goes through a frame-counting dialer), %d operations of each kind, each alone (section 5's concurrent ones: %d per client, all clients at once, each client's counted on its own connection). A bracket is a burst of requests sent without waiting; each new bracket is one wait for the server, so the count of brackets is the number of sequential round trips, or more when a concurrent request straddles a reply: zkcoord's lease monitor reads its own node with a watch once the lock is held, off the critical path (with an empty critical section it is mostly cancelled before it is sent, as the request counts show). Hence the fewest is quoted. In code: zkcoord `recipes/queue.go` (`enqueue`, `await`, `remove`) and `recipes/lease.go` (`monitor`, `Release`); go-zookeeper v1.0.4 `lock.go` (`LockWithData`, `Unlock`); semaphore `semaphore/semaphore.go` (`acquireOnce`, `checkLimit`).", u.block, u.block)
	p("")
	p("| operation | requests | round trips, fewest | round trips, median | most frequent on the wire | share |")
	p("|---|---|---|---|---|---|")
	for _, o := range u.ops {
		w := o.wire
		p("| %s | %d | %d | %d | `%s` | %d/%d |", o.name, w.medRequests, w.minWaits, w.medWaits, w.pattern, w.share, w.n)
	}
	for _, k := range []string{"zkcoord", "zklock"} {
		w := summarizeShapes(h.run(k, lo).shapes)
		p("| handoff, %s, %d waiters (section 4) | %d | %d | %d | `%s` | %d/%d |", h.names[k], lo, w.medRequests, w.minWaits, w.medWaits, w.pattern, w.share, w.n)
	}
	if w := c.sem.wire; w.n > 0 {
		p("| zkcoord semaphore Acquire(1)+Release, alone (section 6) | %d | %d | %d | `%s` | %d/%d |", w.medRequests, w.minWaits, w.medWaits, w.pattern, w.share, w.n)
	}
	p("")
	p("The floor waits twice; at the same speed per round trip, floor + one read = %s, %s of the floor, is where a lock that waits three times starts.",
		ms(floor.p50+read.p50), x(ratio(floor.p50+read.p50, floor.p50)))
	p("")

	p(hFloor)
	p("")
	p("One client, every operation on %s (%s), %d rounds of %d per operation, interleaved with section 2.", u.server, u.role, u.rounds, u.block)
	p("")
	p("| operation | n | median | p99 | median ÷ floor |")
	p("|---|---|---|---|---|")
	row := func(key string) {
		for _, o := range u.ops {
			if o.key == key {
				p("| %s | %d | %s | %s | %s |", o.name, o.sum.n, ms(o.sum.p50), ms(o.sum.p99), x(ratio(o.sum.p50, floor.p50)))
			}
		}
	}
	row(opFloor)
	row(opFloorSeq)
	row(opSession)
	row(opPipelined)
	row(opRead)
	p("")
	p("Session layer on create+delete: %s median (%s vs %s), %s.",
		signedMs(session.p50-floor.p50), ms(session.p50), ms(floor.p50), x(ratio(session.p50, floor.p50)))
	p("")

	p(hUncontended)
	p("")
	p("| system | n | median | p99 | median ÷ floor |")
	p("|---|---|---|---|---|")
	row(opZkcoord)
	row(opZkLock)
	p("")
	p("zkcoord ÷ zk.Lock, medians: %s.", x(ratio(ours.p50, theirs.p50)))
	p("")

	p(hContended)
	p("")
	p("%d clients, each its own session, %d acquisitions per run (%d × %d), empty critical section; acquisitions per second. One unrecorded warm-up run per system first.",
		c.clients, c.total, c.clients, r.cfg.perClient)
	p("")
	head, sep := "| system |", "|---|"
	for i := range r.cfg.reps {
		head += fmt.Sprintf(" run %d |", i+1)
		sep += "---|"
	}
	p("%s median |", head)
	p("%s---|", sep)
	for _, k := range c.order {
		line := "| " + c.names[k] + " |"
		for _, v := range c.rates[k] {
			line += fmt.Sprintf(" %.0f acq/s |", v)
		}
		p("%s %.0f acq/s |", line, medianFloat(c.rates[k]))
	}
	p("")
	p("zkcoord ÷ zk.Lock, medians: %s.", x(ourRate/theirRate))
	p("")

	p(hHandoff)
	p("")
	p("From the holder calling unlock to the next holder's lock returning, with one holder and N waiters queued; waiters spread over %d sessions per system. \"Listing\" is one listing of the full queue (N+1 children) through the same kind of session, timed by a holder just before it released.", h.sessions)
	p("")
	p("| system | waiters | handoffs | median | p99 | listing, median |")
	p("|---|---|---|---|---|---|")
	for _, n := range r.cfg.waiters {
		for _, k := range []string{"zkcoord", "zklock"} {
			run := h.run(k, n)
			s := summarize(run.samples)
			p("| %s | %d | %d | %s | %s | %s |", h.names[k], n, s.n, ms(s.p50), ms(s.p99), ms(summarize(run.listing).p50))
		}
	}
	p("")
	p("zkcoord p50(%d) ÷ p50(%d): %s. zk.Lock p50(%d) ÷ p50(%d): %s.",
		hi, lo, x(ratio(h.get("zkcoord", hi).p50, h.get("zkcoord", lo).p50)),
		hi, lo, x(ratio(h.get("zklock", hi).p50, h.get("zklock", lo).p50)))
	p("")

	p(hReadLock)
	p("")
	p("Measured in the loop of sections 1–2, interleaved with them block by block, every client on the same server. \"%d concurrent\" is %d sessions, each its own client, all working at once: a block is %d operations per session, claimed from a shared count so that all %d stay busy to its end. The readers all read one lock, with no writer; the mutexes are one per session, so nobody ever waits for anybody and what is left is the load of %d clients.",
		u.readers, u.readers, u.block, u.readers, u.readers)
	p("")
	p("| operation | clients | n | median | p99 | median ÷ mutex alone |")
	p("|---|---|---|---|---|---|")
	row5 := func(key string, clients int) {
		for _, o := range u.ops {
			if o.key == key {
				name := o.name
				if key == opZkcoord {
					name += ", one client alone (section 2)"
				}
				p("| %s | %d | %d | %s | %s | %s |", name, clients, o.sum.n, ms(o.sum.p50), ms(o.sum.p99), x(ratio(o.sum.p50, ours.p50)))
			}
		}
	}
	row5(opZkcoord, 1)
	row5(opRLock, 1)
	row5(opMutexes, u.readers)
	row5(opReaders, u.readers)
	p("")
	p("Readers ÷ mutexes under the same load, medians: %s (p99: %s). Readers ÷ mutex alone: %s. One reader alone ÷ mutex alone: %s.",
		x(ratio(readers.p50, mutexes.p50)), x(ratio(readers.p99, mutexes.p99)), x(ratio(readers.p50, alone.p50)), x(ratio(rlock.p50, alone.p50)))
	p("")

	p(hSemaphore)
	p("")
	p("%d workers, each its own session, take and release one permit of a %d-permit semaphore with an empty critical section, %d acquisitions per run (%d × %d); acquisitions per second. Its runs take turns with those of section 3, the system that goes first rotating, after one unrecorded warm-up run each; the mutex's row repeats its section 3 figures. \"Most held at once\" counts, in process, contenders between their acquisition returning and their release being called, over every run (warm-up included): a window inside the server's, so a count over the limit would be a real excess.",
		sm.workers, sm.permits, sm.total, sm.workers, r.cfg.semPerWorker)
	p("")
	p("| system | clients | acquisitions per run |%s median | most held at once |", strings.TrimPrefix(head, "| system |"))
	p("|---|---|---|%s---|---|", strings.TrimPrefix(sep, "|---|"))
	semRow := func(key string, clients, total int) {
		line := fmt.Sprintf("| %s | %d | %d |", c.names[key], clients, total)
		for _, v := range c.rates[key] {
			line += fmt.Sprintf(" %.0f acq/s |", v)
		}
		p("%s %.0f acq/s | %d |", line, medianFloat(c.rates[key]), c.maxHeld[key])
	}
	semRow(sm.key, sm.workers, sm.total)
	semRow("zkcoord", c.clients, c.total)
	p("")
	p("Semaphore ÷ mutex, medians: %s.", x(semRate/ourRate))
	p("")
	p("Saturation check (not a throughput figure): the same %d workers, each holding its permit %v, %d acquisitions in all. Most held at once: %d (limit %d: %s). Rate: %.0f acq/s, against %.0f acq/s if all %d permits were always held (%d ÷ %v).",
		sm.workers, sm.hold, sm.holdTotal, sm.holdMax, sm.permits, limitVerdict(sm.holdMax, c.maxHeld[sm.key], sm.permits),
		sm.holdRate, float64(sm.permits)/sm.hold.Seconds(), sm.permits, sm.permits, sm.hold)
	p("")

	p(hMethod)
	p("")
	p("- **Interleaving.** Sections 1, 2 and 5 run as one loop: a block of %d of each operation in turn (per client, for section 5's concurrent ones; the first operation of a round rotates), repeated %d times after one unrecorded warm-up round, so drift on the machine hits every operation alike. Contended runs (sections 3 and 6) rotate the system that goes first. Handoffs sweep the queue lengths in %d passes, every other one in reverse order, alternating the system that goes first; the passes' samples are merged.", u.block, u.rounds, r.cfg.passes)
	p("- **Same path to the servers.** In sections 1–2 every client (the raw go-zookeeper connection used for the floor, the read and zk.Lock; the zkcoord session used for Epoch.Create+Delete and the mutex) is connected to the same follower, so every write takes the same hop to the leader. In sections 3–4 session i of each system is connected to server i mod %d, the same for both systems.", r.servers)
	p("- **Lock directories** are created as persistent nodes beforehand, so that neither system pays for creating them inside a measurement and the server never reaps zkcoord's container directory between iterations.")
	p("- **Handoff chain.** Each new holder records the time its Lock returned; a sample is that minus the time the previous holder called Unlock (one process, monotonic clock). The queue is held at one holder + N waiters at every handoff: the holder that released joins the tail again once the next holder has the lock (so its create and listing never overlap the handoff being timed), and each holder, before releasing, waits until the directory is full again and then %v more for the new tail to list the queue and set its watch. Per pass and queue length, %d handoffs are skipped, %d recorded, then the queue drains.", h.settle, r.cfg.warmHandoffs, r.cfg.handoffs)
	p("- **zk.Lock and sessions.** zk.Lock does not need a connection per waiter: each zk.Lock value keeps its own node path, so many share one *zk.Conn. Both systems therefore queue all N waiters, 1000 included, over the same %d sessions; nothing is capped. (One connection per waiter would not fit anyway: ZooKeeper allows 60 connections per client address per server by default.)", h.sessions)
	p("- **Concurrent clients (sections 5–6).** Section 5's %d sessions are opened for it, on the server of sections 1–2, each dialing through a frame counter of its own, so that one client's round trips are counted apart from the others' (in one more block of each, untimed). Section 6's %d sessions are opened for it, session i on server i mod %d, and closed before section 4.", u.readers, sm.workers, r.servers)
	p("- **p99** is the nearest-rank 99th percentile; with n < 100 it is the maximum.")
	return b.String()
}

// limitVerdict says whether the semaphore was ever seen over its limit, and
// whether the saturation check filled it.
func limitVerdict(saturated, empty int64, permits int) string {
	switch {
	case saturated > int64(permits) || empty > int64(permits):
		return "EXCEEDED"
	case saturated == int64(permits):
		return "never exceeded, and reached"
	}
	return "never exceeded, never reached"
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func signedMs(d time.Duration) string {
	if d >= 0 {
		return "+" + ms(d)
	}
	return "−" + ms(-d)
}

// perAcq is the time per acquisition at rate acquisitions/s.
func perAcq(rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / rate)
}
