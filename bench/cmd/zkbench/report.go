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

	curator, kazoo string              // the peers' versions
	warm           map[string]warmInfo // the peers' warm-up, by key

	uncontended uncontendedResult
	contended   contendedResult
	handoff     handoffResult
	failover    handoffResult // section 7: one queue length, cfg.candidates-1 waiting
	scale       scaleResult   // section 8
	only        string        // -only: the one scenario run
}

// Section headings: the smoke test checks that each is present.
const (
	hMachine     = "## Machine"
	hTargets     = "## Targets"
	hSideBySide  = "## Side by side: zkcoord, zk.Lock, Curator, kazoo"
	hRoundTrips  = "## Round trips per uncontended Lock+Unlock"
	hFloor       = "## 1. Floor and session overhead"
	hUncontended = "## 2. Uncontended Lock+Unlock"
	hContended   = "## 3. Contended throughput"
	hHandoff     = "## 4. Handoff latency"
	hReadLock    = "## 5. Read lock, concurrent readers"
	hSemaphore   = "## 6. Semaphore throughput"
	hFailover    = "## 7. Election failover"
	hScale       = "## 8. Scale in one process"
	hMethod      = "## Method"
)

// target is one of the goals, judged on this run's figures.
type target struct {
	what      string
	measured  float64 // a ratio
	threshold string
	pass      bool
	bounds    []float64 // the threshold's numbers
}

// shown renders the measured ratio with two decimals, or three where two
// would read as a bound itself (0.904× is not ≤ 0.90×).
func (t target) shown() string {
	for _, b := range t.bounds {
		if fmt.Sprintf("%.2f", t.measured) == fmt.Sprintf("%.2f", b) && t.measured != b {
			return fmt.Sprintf("%.3f×", t.measured)
		}
	}
	return x(t.measured)
}

func (r report) targets() []target {
	u, c := r.uncontended, r.contended
	floor := u.get(opFloor).p50
	lockRatio := ratio(u.get(opZkcoord).p50, floor)
	lo, hi := r.cfg.waiters[0], r.cfg.waiters[len(r.cfg.waiters)-1]
	handoffRatio := ratio(r.handoff.get(keyZkcoord, hi).p50, r.handoff.get(keyZkcoord, lo).p50)
	ourRate := medianFloat(c.rates[keyZkcoord])
	through := ourRate / medianFloat(c.rates[keyZkLock])
	readRatio := ratio(u.get(opReaders).p50, u.get(opMutexes).p50)
	vsCurator := ratio(u.get(opZkcoord).p50, u.get(opCuratorMutex).p50)
	throughCurator := ourRate / medianFloat(c.rates[keyCurator])
	perWrite := ratio(u.get(opWrite).p50, perAcq(ourRate))
	fw := r.cfg.candidates - 1
	failover := ratio(r.failover.get(keyZkcoord, fw).p50, u.get(opWrite).p50)
	semCurator := medianFloat(c.rates[keyCuratorSem]) / medianFloat(c.rates[keySem]) // time per acquisition, ours ÷ Curator's
	return []target{
		{"Uncontended zkcoord Lock+Unlock median ÷ create+delete floor median",
			lockRatio, "≤ 1.10×", lockRatio <= 1.10, []float64{1.10}},
		{fmt.Sprintf("zkcoord handoff median at %d waiters ÷ at %d", hi, lo),
			handoffRatio, "0.80×–1.20× (within 20 %)", math.Abs(handoffRatio-1) <= 0.20, []float64{0.80, 1.20}},
		{fmt.Sprintf("Contended throughput, zkcoord ÷ zk.Lock (%d clients)", c.clients),
			through, "≥ 1.50×", through >= 1.50, []float64{1.50}},
		{fmt.Sprintf("Read lock with %d concurrent readers ÷ uncontended mutex (%d concurrent clients, a mutex each), medians", u.readers, u.readers),
			readRatio, "≤ 1.20×", readRatio <= 1.20, []float64{1.20}},
		{"Uncontended Lock+Unlock, zkcoord ÷ Curator InterProcessMutex, medians",
			vsCurator, "≤ 0.90×", vsCurator <= 0.90, []float64{0.90}},
		{fmt.Sprintf("Contended throughput, zkcoord ÷ Curator InterProcessMutex (%d clients)", c.clients),
			throughCurator, "≥ 1.30×", throughCurator >= 1.30, []float64{1.30}},
		{fmt.Sprintf("Contended zkcoord (%d clients), one write per handoff: one write's median ÷ time per acquisition", c.clients),
			perWrite, "≥ 0.70×", perWrite >= 0.70, []float64{0.70}},
		{"Clean election failover, zkcoord median ÷ one write's median",
			failover, "≤ 1.50×", failover <= 1.50, []float64{1.50}},
		{fmt.Sprintf("Semaphore (%d permits, %d workers), zkcoord's time per acquisition ÷ Curator InterProcessSemaphoreV2's", c.sem.permits, c.sem.workers),
			semCurator, "≤ 0.70×", semCurator <= 0.70, []float64{0.70}},
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
	if r.only == scenarioScale {
		r.preamble(p)
		r.scaleMarkdown(p)
		return b.String()
	}
	u, c, h, f := r.uncontended, r.contended, r.handoff, r.failover
	floor, session, read, write := u.get(opFloor), u.get(opSession), u.get(opRead), u.get(opWrite)
	ours, theirs := u.get(opZkcoord), u.get(opZkLock)
	curMutex, kzMutex := u.get(opCuratorMutex), u.get(opKazooMutex)
	curFloor, kzFloor := u.get(opCuratorFloor), u.get(opKazooFloor)
	wire := func(key string) shapes {
		for _, o := range u.ops {
			if o.key == key {
				return o.wire
			}
		}
		return shapes{}
	}
	lo, hi := r.cfg.waiters[0], r.cfg.waiters[len(r.cfg.waiters)-1]
	rate := func(k string) float64 { return medianFloat(c.rates[k]) }
	ourRate, theirRate, curRate, kzRate := rate(keyZkcoord), rate(keyZkLock), rate(keyCurator), rate(keyKazoo)
	candidates := r.cfg.candidates
	fw := candidates - 1 // the failover runs' waiters

	r.preamble(p)

	p(hTargets)
	p("")
	p("| target | measured | threshold | result |")
	p("|---|---|---|---|")
	for _, t := range r.targets() {
		p("| %s | %s | %s | %s |", t.what, t.shown(), t.threshold, verdict(t.pass))
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
	zlo, zhi := h.run(keyZkcoord, lo), h.run(keyZkcoord, hi)
	zh, kh := summarizeShapes(zlo.shapes), summarizeShapes(h.run(keyZkLock, lo).shapes)
	lLo, lHi := summarize(zlo.listing).p50, summarize(zhi.listing).p50
	hLo, hHi := h.get(keyZkcoord, lo).p50, h.get(keyZkcoord, hi).p50
	flat := func(k string) string { return x(ratio(h.get(k, hi).p50, h.get(k, lo).p50)) }
	p("- **Handoff, %d vs %d waiters.** A handoff is, on the wire, `%s` for zkcoord (fewest groups %d, median %d) and `%s` for zk.Lock. zkcoord's successor takes the lock on the delete's watch event alone: its predecessor marked its node while it held (a setData of its own bytes, which the successor, already watching, heard before the delete), so nothing after the event depends on the queue's length; what follows the delete on zkcoord's wire is the new holder's own mark, sent and not waited for. zk.Lock, Curator and kazoo list the whole queue after the event (`%s` and `%s`: Curator's `LockInternals.internalLockLoop`, kazoo's `Lock._get_predecessor`), and that listing grows: one listing of the whole queue took %s at %d waiters and %s at %d (%s). zkcoord's handoff median went from %s to %s (%s); the others': zk.Lock %s, Curator %s, kazoo %s.",
		hi, lo, zh.pattern, zh.minWaits, zh.medWaits, kh.pattern,
		h.peerWire[keyCurator].pattern, h.peerWire[keyKazoo].pattern,
		ms(lLo), lo, ms(lHi), hi, signedMs(lHi-lLo),
		ms(hLo), ms(hHi), x(ratio(hHi, hLo)),
		flat(keyZkLock), flat(keyCurator), flat(keyKazoo))
	p("- **Contended throughput vs zk.Lock.** With %d clients the lock is never free: each acquisition is a handoff, %s per acquisition for zkcoord (%.0f acq/s) and %s for zk.Lock (%.0f acq/s). zkcoord's handoff waits for one write and its event (section 4), zk.Lock's for a write, its event and a listing; but with an empty critical section and every client rejoining at once, the servers, not the handoff's waits, set the pace: each zkcoord acquisition costs them three writes (the create, the holder's mark, the delete) and about five reads (the listing, a watch on the waiter's own node and one on its predecessor, that watch renewed after the mark, the lease's watch), each zk.Lock one two writes and three reads, on %d cores that three servers share with every client, plus every zkcoord session's heartbeat syncs through the leader. 1.5× would need zkcoord to cost the servers less per acquisition than zk.Lock, where it spends one write more (the mark) to spare its successor the listing.",
		c.clients, ms(perAcq(ourRate)), ourRate, ms(perAcq(theirRate)), theirRate, r.machine.nproc)
	alone, readers, mutexes, rlock := ours, u.get(opReaders), u.get(opMutexes), u.get(opRLock)
	p("- **Read lock, %d concurrent readers.** The denominator is the mutex under the same load (the same %d sessions on the same server, each Lock+Unlock on a mutex of its own, in blocks interleaved with the readers'), so that the ratio shows whether readers wait for one another and not what %d clients cost two cores; against the mutex alone (section 2) the readers come out at %s, and the mutexes under the same load at %s. An RLock+RUnlock among %d readers waits for the server %d times at fewest (median %d), as one reader alone (%d), and as a mutex Lock+Unlock (%d): no reader waits for another.",
		u.readers, u.readers, u.readers, x(ratio(readers.p50, alone.p50)), x(ratio(mutexes.p50, alone.p50)),
		u.readers, wire(opReaders).minWaits, wire(opReaders).medWaits, wire(opRLock).minWaits, wire(opZkcoord).minWaits)

	cw, kzw := wire(opCuratorMutex), wire(opKazooMutex)
	need := time.Duration(0.90 * float64(curMutex.p50))
	best := ratio(floor.p50, curMutex.p50)
	p("- **Uncontended ÷ Curator.** Counted on the wire (the peers' traced sessions dial through a frame-counting proxy), Curator's acquire+release waits for the server %d times (`%s`: `InterProcessMutex.acquire` creates its node, then `LockInternals.internalLockLoop` lists the directory; `release` deletes), kazoo's %d times (`%s`: a reused `Lock` lists the directory before it creates, looking for a node of its own from an earlier attempt, because it never resets `create_tried` after its first acquisition; then it creates, lists, deletes), zkcoord's %d (`%s`). Each client's own create+delete, the floor through Curator's and kazoo's clients, takes %s and %s (%s and %s of go-zookeeper's %s): so Curator's lock costs %s over its own floor, zkcoord's %s over go-zookeeper's. zkcoord ÷ Curator: %s. Below 0.90× means zkcoord at ≤ %s (now %s). A lock waits at least for its create and its delete, so the best zkcoord can do against this Curator is the floor's %s ÷ %s = %s; %s",
		cw.minWaits, cw.pattern, kzw.minWaits, kzw.pattern, zw, wire(opZkcoord).pattern,
		ms(curFloor.p50), ms(kzFloor.p50), x(ratio(curFloor.p50, floor.p50)), x(ratio(kzFloor.p50, floor.p50)), ms(floor.p50),
		signedMs(curMutex.p50-curFloor.p50), signedMs(ours.p50-floor.p50),
		x(ratio(ours.p50, curMutex.p50)), ms(need), ms(ours.p50), ms(floor.p50), ms(curMutex.p50), x(best),
		curatorUncontendedVerdict(ours.p50, need, floor.p50, pipelined.p50, floorSeq.p50))

	oneHandoff := write.p50 + read.p50
	ceiling := ratio(write.p50, oneHandoff)
	hz10, hc10 := h.get(keyZkcoord, lo).p50, h.get(keyCurator, lo).p50
	p("- **Contended throughput vs Curator.** Each acquisition under contention is a handoff. zkcoord's, counted on the wire in section 4, is `%s`: the holder's delete (a write) and its watch event, after which the successor holds; the setData that follows is the new holder's mark, not waited for. Curator's, counted with one waiter on its traced session, is `%s`, kazoo's `%s`: a listing after the event. In their code: Curator's `LockInternals.releaseLock` deletes, the waiter's watcher (set with getData on its predecessor) wakes it and `internalLockLoop` lists the directory before it holds; kazoo's predecessor watch sets `wake_event` and `Lock._get_predecessor` lists the children. Per acquisition: zkcoord %s, Curator %s, kazoo %s, so zkcoord ÷ Curator = %s (%s). One write + one read is %s here (section 1), and a whole handoff, with the queue quiet, took %s for zkcoord and %s for Curator at %d waiters (section 4). Under contention the servers set the pace (the bullet on zk.Lock above), on %d cores that three servers share with every client. %s",
		zh.pattern, h.peerWire[keyCurator].pattern, h.peerWire[keyKazoo].pattern, ms(perAcq(ourRate)), ms(perAcq(curRate)), ms(perAcq(kzRate)), x(ourRate/curRate),
		contendedVerdict(ourRate/curRate, perAcq(curRate)),
		ms(oneHandoff), ms(hz10), ms(hc10), lo, r.machine.nproc, contendedMove(ourRate/curRate))
	p("- **One write per handoff.** One write alone (SetData, section 1) takes %s; a zkcoord acquisition under contention %s, so %s of a write's rate. zkcoord's handoff waits for one write and its event, no read after it (a listing-based handoff waits at least %s, which would cap the ratio at %s); a quiet one took %s (section 4). Under contention the client that released also rejoins the queue (a create, a listing, watches on its own node and its predecessor) while the next one takes over and marks its node, so the servers take three writes and about five reads per acquisition, on %d cores shared with every client: that, not the handoff, is what bounds the ratio here.",
		ms(write.p50), ms(perAcq(ourRate)), x(ratio(write.p50, perAcq(ourRate))), ms(oneHandoff), x(ceiling), ms(hz10), r.machine.nproc)
	sm := c.sem
	zsRate := rate(keySem)
	p("- **Semaphore, %d permits, %d workers.** With an empty critical section the permits are not what limits it: each acquisition passes the semaphore's internal lock one at a time, and alone an Acquire(1)+Release waits for the server %d times with zkcoord (`%s`), %d with Curator (`%s`) and %d with kazoo (`%s`), against %d for the zkcoord mutex. zkcoord managed %.0f acq/s (%s per acquisition), %s the contended mutex's %.0f acq/s; Curator %.0f acq/s, kazoo %.0f acq/s (zkcoord ÷ Curator %s). Holders hardly overlap (at most %d at once over every zkcoord run); in the saturation checks, where each holder keeps its permit %v, the most held at once: %s.",
		sm.permits, sm.workers, sm.wire[keySem].minWaits, sm.wire[keySem].pattern,
		sm.wire[keyCuratorSem].minWaits, sm.wire[keyCuratorSem].pattern, sm.wire[keyKazooSem].minWaits, sm.wire[keyKazooSem].pattern,
		wire(opZkcoord).minWaits,
		zsRate, ms(perAcq(zsRate)), x(zsRate/ourRate), ourRate, rate(keyCuratorSem), rate(keyKazooSem), x(zsRate/rate(keyCuratorSem)),
		c.maxHeld[keySem], sm.hold, r.saturationSummary())
	fz := f.run(keyZkcoord, fw)
	fzs := summarizeShapes(fz.shapes)
	p("- **Election failover.** A clean resignation hands leadership over as a lock hands itself over, and each system's failover waits as its handoff does: zkcoord's, on the wire, `%s` (fewest waits %d), %s median, %s of one write; Curator's LeaderLatch `%s` (`close` deletes its node in the background; the successor's watcher on its predecessor's data lists the children, then `checkLeadership`), %s, %s; kazoo's Election `%s` (a kazoo Lock underneath), %s, %s. A failover that reads after the event takes at least one write + one read (%s, %s of one write); zkcoord's successor holds on the event alone once a listing, made while its predecessor took over, showed that predecessor at the head (an election's waiter also watches the contender ahead of its predecessor, since LeaderLatch peers forbid marks).",
		fzs.pattern, fzs.minWaits, ms(f.get(keyZkcoord, fw).p50), x(ratio(f.get(keyZkcoord, fw).p50, write.p50)),
		f.peerWire[keyCurator].pattern, ms(f.get(keyCurator, fw).p50), x(ratio(f.get(keyCurator, fw).p50, write.p50)),
		f.peerWire[keyKazoo].pattern, ms(f.get(keyKazoo, fw).p50), x(ratio(f.get(keyKazoo, fw).p50, write.p50)), ms(oneHandoff), x(ratio(oneHandoff, write.p50)))
	p("")

	p(hSideBySide)
	p("")
	p("Every scenario, every system, from the sections below. Latencies per operation; for the throughput scenarios, time per acquisition (elapsed ÷ acquisitions of one run), the median over runs, and as p99 the slowest run (fewer than 100 runs: the maximum). \"÷ Curator\" divides by Curator's median in the same scenario (below 1: faster than Curator), \"÷ floor\" by the go-zookeeper create+delete floor's median (section 1).")
	p("")
	p("| scenario | system | median | p99 | ÷ Curator | ÷ floor |")
	p("|---|---|---|---|---|---|")
	side := func(scenario, system string, s, cur summary) {
		p("| %s | %s | %s | %s | %s | %s |", scenario, system, ms(s.p50), ms(s.p99), ratioCell(s.p50, cur.p50), x(ratio(s.p50, floor.p50)))
	}
	scen := "Floor: create+delete, one client"
	side(scen, "go-zookeeper", floor, curFloor)
	side(scen, "Curator's client", curFloor, curFloor)
	side(scen, "kazoo's client", kzFloor, curFloor)
	side("One write (SetData), one client", "go-zookeeper", write, summary{})
	scen = "Uncontended Lock+Unlock"
	side(scen, "zkcoord mutex", ours, curMutex)
	side(scen, "go-zookeeper zk.Lock", theirs, curMutex)
	side(scen, "Curator InterProcessMutex", curMutex, curMutex)
	side(scen, "kazoo Lock", kzMutex, curMutex)
	perRun := func(k string) summary {
		var d []time.Duration
		for _, v := range c.rates[k] {
			d = append(d, perAcq(v))
		}
		s := summarize(d)
		s.p50 = perAcq(medianFloat(c.rates[k])) // the median rate's, as quoted elsewhere
		return s
	}
	scen = fmt.Sprintf("Contended, %d clients: time per acquisition", c.clients)
	for _, k := range c.order {
		side(scen, c.names[k], perRun(k), perRun(keyCurator))
	}
	for _, n := range r.cfg.waiters {
		scen = fmt.Sprintf("Handoff, %d waiters", n)
		for _, k := range h.order {
			side(scen, h.names[k], h.get(k, n), h.get(keyCurator, n))
		}
	}
	scen = fmt.Sprintf("Semaphore, %d permits, %d workers: time per acquisition", sm.permits, sm.workers)
	for _, k := range sm.order {
		side(scen, c.names[k], perRun(k), perRun(keyCuratorSem))
	}
	scen = fmt.Sprintf("Election failover, %d candidates", candidates)
	for _, k := range f.order {
		side(scen, f.names[k], f.get(k, fw), f.get(keyCurator, fw))
	}
	p("")
	p("![Handoff latency against the number of waiters, every system](%s)", chartName)
	p("")
	p("[`%s`](%s): section 4's medians (left) and p99 (right) against the number of waiters, every system, drawn with gonum/plot.", chartName, chartName)
	p("")

	p(hRoundTrips)
	p("")
	p("Measured on the wire (every zkbench connection goes through a frame-counting dialer; each peer has one more session, on the same server, through a frame-counting proxy, used only for these counts), %d operations of each kind, each alone (section 5's concurrent ones: %d per client, all clients at once, each client's counted on its own connection; the peers' handoffs and failovers: %d, a holder and one waiter on that session, the handover alone in the window). A bracket is a burst of requests sent without waiting; each new bracket is one wait for the server, so the count of brackets is the number of sequential round trips, or more when a concurrent request straddles a reply: zkcoord's lease monitor reads its own node with a watch once the lock is held, off the critical path (with an empty critical section it is mostly cancelled before it is sent, as the request counts show). Hence the fewest is quoted. In code: zkcoord `recipes/queue.go` (`enqueue`, `await`, `remove`) and `recipes/lease.go` (`monitor`, `Release`); go-zookeeper v1.0.4 `lock.go` (`LockWithData`, `Unlock`); semaphore `semaphore/semaphore.go` (`acquireOnce`, `checkLimit`); Curator `InterProcessMutex`, `LockInternals`, `StandardLockInternalsDriver`, `InterProcessSemaphoreV2`, `LeaderLatch`; kazoo `kazoo/recipe/lock.py` (`Lock`, `Semaphore`), `kazoo/recipe/election.py`.", u.block, u.block, r.cfg.wireChains)
	p("")
	p("| operation | requests | round trips, fewest | round trips, median | most frequent on the wire | share |")
	p("|---|---|---|---|---|---|")
	wireRow := func(name string, w shapes) {
		p("| %s | %d | %d | %d | `%s` | %d/%d |", name, w.medRequests, w.minWaits, w.medWaits, w.pattern, w.share, w.n)
	}
	for _, o := range u.ops {
		wireRow(o.name, o.wire)
	}
	for _, k := range []string{keyZkcoord, keyZkLock} {
		wireRow(fmt.Sprintf("handoff, %s, %d waiters (section 4)", h.names[k], lo), summarizeShapes(h.run(k, lo).shapes))
	}
	for _, k := range []string{keyCurator, keyKazoo} {
		wireRow(fmt.Sprintf("handoff, %s, one waiter, alone (section 4)", h.names[k]), h.peerWire[k])
	}
	wireRow(fmt.Sprintf("failover, %s, %d candidates (section 7)", f.names[keyZkcoord], candidates), fzs)
	for _, k := range []string{keyCurator, keyKazoo} {
		wireRow(fmt.Sprintf("failover, %s, one waiting, alone (section 7)", f.names[k]), f.peerWire[k])
	}
	for _, k := range sm.order {
		if w := sm.wire[k]; w.n > 0 {
			wireRow(fmt.Sprintf("%s Acquire(1)+Release, alone (section 6)", c.names[k]), w)
		}
	}
	p("")
	p("The floor waits twice; at the same speed per round trip, floor + one read = %s, %s of the floor, is where a lock that waits three times starts.",
		ms(floor.p50+read.p50), x(ratio(floor.p50+read.p50, floor.p50)))
	p("")

	p(hFloor)
	p("")
	p("One client, every operation on %s (%s), %d rounds of %d per operation, interleaved with section 2. Curator's and kazoo's clients run in their own processes, timed there, on a session of their own on the same server.", u.server, u.role, u.rounds, u.block)
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
	for _, k := range []string{opFloor, opFloorSeq, opSession, opPipelined, opRead, opWrite, opCuratorFloor, opKazooFloor} {
		row(k)
	}
	p("")
	p("Session layer on create+delete: %s median (%s vs %s), %s. Curator's client: %s; kazoo's: %s.",
		signedMs(session.p50-floor.p50), ms(session.p50), ms(floor.p50), x(ratio(session.p50, floor.p50)),
		signedMs(curFloor.p50-floor.p50), signedMs(kzFloor.p50-floor.p50))
	p("")

	p(hUncontended)
	p("")
	p("| system | n | median | p99 | median ÷ floor | ÷ Curator |")
	p("|---|---|---|---|---|---|")
	row2 := func(key string) {
		for _, o := range u.ops {
			if o.key == key {
				p("| %s | %d | %s | %s | %s | %s |", o.name, o.sum.n, ms(o.sum.p50), ms(o.sum.p99), x(ratio(o.sum.p50, floor.p50)), x(ratio(o.sum.p50, curMutex.p50)))
			}
		}
	}
	for _, k := range []string{opZkcoord, opZkLock, opCuratorMutex, opKazooMutex} {
		row2(k)
	}
	p("")
	p("zkcoord ÷ zk.Lock, medians: %s. zkcoord ÷ Curator: %s. zkcoord ÷ kazoo: %s.",
		x(ratio(ours.p50, theirs.p50)), x(ratio(ours.p50, curMutex.p50)), x(ratio(ours.p50, kzMutex.p50)))
	p("")

	p(hContended)
	p("")
	p("%d clients, each its own session, %d acquisitions per run (%d × %d), empty critical section; acquisitions per second. One unrecorded warm-up run per system first. Curator's and kazoo's clients run in their processes, timed there (first acquisition started to last release returned), their sessions on the servers as zkbench's are.",
		c.clients, c.total, c.clients, r.cfg.perClient)
	p("")
	head, sep := "| system |", "|---|"
	for i := range r.cfg.reps {
		head += fmt.Sprintf(" run %d |", i+1)
		sep += "---|"
	}
	p("%s median | ÷ Curator |", head)
	p("%s---|---|", sep)
	for _, k := range c.order {
		p("| %s |%s %.0f acq/s | %s |", c.names[k], rateCells(c.rates[k]), rate(k), x(rate(k)/curRate))
	}
	p("")
	p("zkcoord ÷ zk.Lock, medians: %s. zkcoord ÷ Curator: %s. zkcoord ÷ kazoo: %s. \"÷ Curator\" here divides throughputs: above 1, more acquisitions per second than Curator.",
		x(ourRate/theirRate), x(ourRate/curRate), x(ourRate/kzRate))
	p("")

	p(hHandoff)
	p("")
	p("From the holder calling unlock to the next holder's lock returning, with one holder and N waiters queued; waiters spread over %d sessions per system. \"Listing\" is one listing of the full queue (N+1 children) through the same kind of session, timed by a holder just before it released. Curator's and kazoo's relays run in their processes, timed there.", h.sessions)
	p("")
	p("| system | waiters | handoffs | median | p99 | listing, median | ÷ Curator |")
	p("|---|---|---|---|---|---|---|")
	for _, n := range r.cfg.waiters {
		for _, k := range h.order {
			run := h.run(k, n)
			s := summarize(run.samples)
			p("| %s | %d | %d | %s | %s | %s | %s |", h.names[k], n, s.n, ms(s.p50), ms(s.p99), ms(summarize(run.listing).p50), x(ratio(s.p50, h.get(keyCurator, n).p50)))
		}
	}
	p("")
	var flats []string
	for _, k := range h.order {
		flats = append(flats, fmt.Sprintf("%s %s", h.names[k], flat(k)))
	}
	p("p50(%d) ÷ p50(%d): %s.", hi, lo, strings.Join(flats, ", "))
	p("")
	p("![Handoff latency against the number of waiters](%s)", chartName)
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
	p("%d workers, each its own session, take and release one permit of a %d-permit semaphore with an empty critical section, %d acquisitions per run (%d × %d); acquisitions per second. zkcoord's semaphore, Curator's InterProcessSemaphoreV2 (the same layout) and kazoo's Semaphore (its own: a kazoo Lock beside the lease directory) take turns with section 3's runs, the system that goes first rotating, after one unrecorded warm-up run each; the zkcoord mutex's row repeats its section 3 figures. \"Most held at once\" counts, in the process that runs the workers, contenders between their acquisition returning and their release being called, over every run (warm-up included): a window inside the server's, so a count over the limit would be a real excess.",
		sm.workers, sm.permits, sm.total, sm.workers, r.cfg.semPerWorker)
	p("")
	p("| system | clients | acquisitions per run |%s median | most held at once | ÷ Curator |", strings.TrimPrefix(head, "| system |"))
	p("|---|---|---|%s---|---|---|", strings.TrimPrefix(sep, "|---|"))
	curSem := rate(keyCuratorSem)
	semRow := func(k string, clients, total int) {
		p("| %s | %d | %d |%s %.0f acq/s | %d | %s |", c.names[k], clients, total, rateCells(c.rates[k]), rate(k), c.maxHeld[k], x(rate(k)/curSem))
	}
	for _, k := range sm.order {
		semRow(k, sm.workers, sm.total)
	}
	semRow(keyZkcoord, c.clients, c.total)
	p("")
	p("zkcoord semaphore ÷ zkcoord mutex, medians: %s. zkcoord semaphore ÷ Curator: %s. zkcoord semaphore ÷ kazoo: %s (throughputs).",
		x(zsRate/ourRate), x(zsRate/curSem), x(zsRate/rate(keyKazooSem)))
	p("")
	p("Saturation check (not a throughput figure): the same %d workers, each holding its permit %v, %d acquisitions in all, per semaphore; the rate if all %d permits were always held would be %.0f acq/s (%d ÷ %v).",
		sm.workers, sm.hold, sm.holdTotal, sm.permits, float64(sm.permits)/sm.hold.Seconds(), sm.permits, sm.hold)
	p("")
	for _, k := range sm.order {
		p("- %s: %.0f acq/s. Most held at once: %d (limit %d: %s).", c.names[k], sm.holdRate[k], sm.holdMax[k], sm.permits,
			limitVerdict(sm.holdMax[k], c.maxHeld[k], sm.permits))
	}
	p("")

	p(hFailover)
	p("")
	p("%d candidates per system, one per session (session i on server i mod %d): the leader resigns cleanly and a sample is the time from its resignation starting to the next leader's election returning, all in one process, on its monotonic clock. zkcoord: `Leadership.Resign` to `Election.Campaign` returning; Curator: `LeaderLatch.close` to the next latch's `await` returning; kazoo: the leader function returning (`Election.run` then releases its lock) to the next candidate's leader function being called. The resigned candidate stands again once the next one leads (a new LeaderLatch for Curator, which cannot restart one), and each leader waits, before it resigns, until all %d candidates are queued, then %v. Per pass %d failovers are skipped and %d recorded; %d passes, the system that goes first alternating.",
		candidates, r.servers, candidates, r.cfg.settle, r.cfg.warmFailovers, r.cfg.failovers, r.cfg.passes)
	p("")
	p("| system | candidates | failovers | median | p99 | median ÷ one write | ÷ Curator |")
	p("|---|---|---|---|---|---|---|")
	for _, k := range f.order {
		s := f.get(k, fw)
		p("| %s | %d | %d | %s | %s | %s | %s |", f.names[k], candidates, s.n, ms(s.p50), ms(s.p99), x(ratio(s.p50, write.p50)), x(ratio(s.p50, f.get(keyCurator, fw).p50)))
	}
	p("")
	p("One write (go-zookeeper SetData, section 1): %s median.", ms(write.p50))
	p("")

	r.scaleMarkdown(p)

	p(hMethod)
	p("")
	p("- **Interleaving.** Sections 1, 2 and 5 run as one loop: a block of %d of each operation in turn (per client, for section 5's concurrent ones; the first operation of a round rotates), repeated %d times after one unrecorded warm-up round, so drift on the machine hits every operation alike; the peers' blocks are in the same loop. Contended runs (sections 3 and 6) are short and many: each of the %d repetitions runs the %d mutexes one after the other, then the %d semaphores, each group starting with a different system every time, so that the systems compared run close together in time. Handoffs sweep the queue lengths in %d passes, every other one in reverse order, alternating the system that goes first; the passes' samples are merged. Failovers (section 7) run in %d passes the same way.", u.block, u.rounds, r.cfg.reps, len(c.order), len(sm.order), r.cfg.passes, r.cfg.passes)
	p("- **Peers.** Curator and kazoo run in processes of their own, driven line by line over stdin/stdout by zkbench: a Java driver (`bench/cmd/zkbench/peers/ZkbenchCurator.java`), compiled with javac at run time against Curator's jars, in a JVM started with `java %s` (JIT and garbage collector at their defaults); and a Python driver (`bench/cmd/zkbench/peers/zkbench_kazoo.py`) under CPython. zkbench sends one command per block or run; the driver runs it and times it itself, with its own monotonic clock (System.nanoTime, time.monotonic_ns), by the same definitions as zkbench's own measurements, and sends the samples back, so that no process boundary is inside a measurement. Each keeps its recipe objects as an application does: one InterProcessMutex, kazoo Lock or Semaphore reused across the uncontended loop; new contenders for each contended run and relay.", strings.Join(jvmFlags, " "))
	cw0, kw0 := r.warm[keyCurator], r.warm[keyKazoo]
	p("- **Warm-up.** Before anything is measured, each driver runs, unrecorded, rounds of: a block of %d uncontended create+delete and one of lock+unlock, a contended run of the mutex (%d acquisitions over %d sessions) and one of the semaphore (%d over %d); Curator for %v, kazoo for %v (CPython has no JIT); then a relay of %d handoffs and one of %d failovers. The JVM's JIT compiles the hot paths meanwhile: until it has, Curator's and the ZooKeeper client's code runs interpreted or at the first compiler tier. Curator's %d rounds took its uncontended lock+unlock median from %s (first round) to %s (last) and its contended rate from %.0f to %.0f acq/s; kazoo's %d rounds, from %s to %s and %.0f to %.0f acq/s. Every section's own warm-up (the unrecorded first round, the unrecorded first contended run, the skipped first handoffs) then applies to the peers as to zkbench's clients.",
		r.cfg.block, r.cfg.sessions*r.cfg.perClient/2, r.cfg.sessions, r.cfg.semWorkers*r.cfg.semPerWorker/2, r.cfg.semWorkers,
		r.cfg.warmJVM, r.cfg.warmPython, r.cfg.warmChain, r.cfg.warmChain,
		cw0.rounds, ms(cw0.first.mutex), ms(cw0.last.mutex), cw0.first.rate, cw0.last.rate,
		kw0.rounds, ms(kw0.first.mutex), ms(kw0.last.mutex), kw0.first.rate, kw0.last.rate)
	p("- **Same path to the servers.** In sections 1–2 every client (the raw go-zookeeper connection used for the floor, the read, the write and zk.Lock; the zkcoord session used for Epoch.Create+Delete and the mutex; Curator's and kazoo's sessions) is connected to the same follower, so every write takes the same hop to the leader. In sections 3, 4, 6 and 7 session i of each system is connected to server i mod %d, the same for every system; the peers' sessions name one server each (Curator's ensemble tracker off, so that its client cannot move them).", r.servers)
	p("- **Lock directories** are created as persistent nodes beforehand (for the semaphores, their lock and lease directories too), so that no system pays for creating them inside a measurement and the server never reaps a container directory between iterations.")
	p("- **Handoff chain.** Each new holder records the time its lock returned; a sample is that minus the time the previous holder called unlock (one process, monotonic clock). The queue is held at one holder + N waiters at every handoff: the holder that released joins the tail again once the next holder has the lock (so its create and listing never overlap the handoff being timed), and each holder, before releasing, waits until the directory is full again and then %v more for the new tail to list the queue and set its watch. Per pass and queue length, %d handoffs are skipped, %d recorded, then the queue drains. The drivers run the same chain, in their processes.", h.settle, r.cfg.warmHandoffs, r.cfg.handoffs)
	p("- **Sessions and waiters.** zk.Lock, Curator's and kazoo's locks do not need a session per waiter: each lock object keeps its own node, so many share one session. Every system therefore queues all N waiters, %d included, over the same %d sessions; nothing is capped. (One session per waiter would not fit anyway: ZooKeeper allows 60 connections per client address per server by default.)", hi, h.sessions)
	p("- **Concurrent clients (sections 5–6).** Section 5's %d sessions are opened for it, on the server of sections 1–2, each dialing through a frame counter of its own, so that one client's round trips are counted apart from the others' (in one more block of each, untimed). Section 6's %d sessions per system are opened for it, session i on server i mod %d, and closed before section 4.", u.readers, sm.workers, r.servers)
	p("- **p99** is the nearest-rank 99th percentile; with n < 100 it is the maximum.")
	return b.String()
}

// preamble is the title, the run and the machine: every report starts with it.
func (r report) preamble(p func(string, ...any)) {
	p("# zkcoord benchmark results")
	p("")
	if r.quick {
		p("**Quick smoke run (`-quick`): tiny samples, the figures mean nothing.**")
		p("")
	}
	p("- Command (from the repository root): `%s`", r.command)
	p("- Date: %s", r.started.UTC().Format("2006-01-02 15:04 MST"))
	if r.only != "" {
		p("- Only section 8 (`-only %s`); the other sections are in a full run's report. Whole run, ensemble start included: %s", r.only, r.took.Round(time.Second))
	} else {
		p("- Whole run, ensemble start and the peers' warm-up included: %s", r.took.Round(time.Second))
	}
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
	if r.only == "" {
		p("| Java | %s |", r.machine.java)
		p("| Curator | %s |", r.curator)
		p("| kazoo | %s |", r.kazoo)
	}
	p("")
	p("The machine is shared and noisy: every comparison below is between figures measured side by side in this run, and medians are quoted.")
	p("")
}

// curatorUncontendedVerdict says what would bring zkcoord's uncontended
// Lock+Unlock to 0.90× Curator's, from where it stands.
func curatorUncontendedVerdict(ours, need, floor, pipelined, floorSeq time.Duration) string {
	switch {
	case ours <= need:
		return fmt.Sprintf("met, with %s to spare.", ms(need-ours))
	case floor > need:
		return "that is above 0.90×, so no client can meet it against this Curator on this machine: it would need ZooKeeper's two writes to cost less, or Curator more."
	}
	return fmt.Sprintf("meeting it means taking %s off the %s zkcoord spends above the floor's two writes: its kind of node (ephemeral sequential, %s) and the listing pipelined behind its create (%s), the listing being what tells it that it holds.",
		ms(ours-need), ms(ours-floor), signedMs(floorSeq-floor), signedMs(pipelined-floorSeq))
}

// contendedVerdict says where zkcoord's contended throughput stands
// against the 1.30× target.
func contendedVerdict(got float64, curPerAcq time.Duration) string {
	if got >= 1.30 {
		return "met"
	}
	return fmt.Sprintf("1.30× needs zkcoord at ≤ %s per acquisition", ms(time.Duration(float64(curPerAcq)/1.30)))
}

// contendedMove says what would move zkcoord's contended throughput
// against Curator's, when it misses.
func contendedMove(got float64) string {
	const move = "What would move it: less work per acquisition for the servers (the mark is a write; the watches on the waiter's own node and on its predecessor, renewed after the mark, are reads), or a machine where the servers do not share two cores with every client."
	if got >= 1.30 {
		return "zkcoord's handoff waits once where Curator's waits twice; the margin also moves with the machine's noise between runs (section 3). " + move
	}
	return "zkcoord's handoff waits once where Curator's waits twice, yet under contention each zkcoord acquisition costs the servers more work than Curator's (a mark, and watches on its own node), which two shared cores feel. " + move
}

// saturationSummary is every semaphore's saturation check in a few words.
func (r report) saturationSummary() string {
	sm := r.contended.sem
	var parts []string
	for _, k := range sm.order {
		parts = append(parts, fmt.Sprintf("%s %d (%s)", r.contended.names[k], sm.holdMax[k], limitVerdict(sm.holdMax[k], r.contended.maxHeld[k], sm.permits)))
	}
	return strings.Join(parts, "; ") + fmt.Sprintf("; limit %d", sm.permits)
}

func rateCells(v []float64) string {
	var s string
	for _, r := range v {
		s += fmt.Sprintf(" %.0f acq/s |", r)
	}
	return s
}

// ratioCell is a ÷ b, or a dash where there is no b.
func ratioCell(a, b time.Duration) string {
	if b == 0 {
		return "—"
	}
	return x(ratio(a, b))
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
