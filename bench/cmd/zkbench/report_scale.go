package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Section 8's sub-headings: the smoke test reads the table under each.
const (
	hScaleTargets = "### Targets of this section"
	hScaleQueue   = "### Waiters on one lock: queueing"
	hScaleMemory  = "### Waiters on one lock: memory and goroutines"
	hScaleHandoff = "### Waiters on one lock: handoff at the head of the queue"
	hScaleLocks   = "### Distinct locks held at once"
)

// Section 8's targets (issue 13, item 5).
const (
	scaleMaxGoroutines = 1.0  // per waiter, its caller's goroutine included
	scaleMaxBytes      = 4096 // per waiter: heap and stacks, its caller's stack included
)

func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }
func kib(b float64) string        { return fmt.Sprintf("%.2f KiB", b/1024) }
func mib(b int64) string          { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (s scaleErrs) cell() string {
	if s.n == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%d ErrLost)", s.n, s.lost)
}

func (r scaleResult) queue(n int) *scaleQueue {
	for i := range r.queues {
		if r.queues[i].n == n && !r.queues[i].skipped {
			return &r.queues[i]
		}
	}
	return nil
}

// largest is the longest queue measured.
func (r scaleResult) largest() *scaleQueue {
	for i := len(r.queues) - 1; i >= 0; i-- {
		if !r.queues[i].skipped {
			return &r.queues[i]
		}
	}
	return nil
}

// handoffRatio is the handoff median at n ÷ at the shortest length timed,
// NaN when either is missing.
func (r scaleResult) handoffRatio(n int) float64 {
	lo, hi := r.queue(r.handoffs[0]), r.queue(n)
	if lo == nil || hi == nil || len(lo.samples) == 0 || len(hi.samples) == 0 {
		return math.NaN()
	}
	return ratio(summarize(hi.samples).p50, summarize(lo.samples).p50)
}

// measuredAt says in what state a length's memory was measured.
func (q scaleQueue) measuredAt() string {
	switch {
	case q.allNodes && q.allParked:
		return "all parked"
	case q.capped:
		return fmt.Sprintf("when the heap passed its cap, %s", strings.TrimPrefix(parkedNote(q), "goroutines "))
	}
	return fmt.Sprintf("at the limit, %s", strings.TrimPrefix(parkedNote(q), "goroutines "))
}

func (r scaleResult) targets() []target {
	big := r.largest()
	if big == nil {
		return nil
	}
	n := big.n
	g, bytes := big.mem.perG(n), big.mem.perTotal(n)
	errs := 0
	for _, q := range r.queues {
		errs += q.errs.n
	}
	when := ""
	switch {
	case big.capped:
		when = ", measured when the heap passed its cap, before all were parked"
	case !big.allNodes || !big.allParked:
		when = ", measured at the limit, before all were parked"
	}
	ts := []target{
		{fmt.Sprintf("Goroutines per waiter, %d waiters on one lock (the caller's own included%s)", n, when), g, "≤ 1.00", g <= scaleMaxGoroutines, []float64{scaleMaxGoroutines}},
		{fmt.Sprintf("Heap + stacks per waiter in KiB, %d waiters (the caller's stack included%s)", n, when), bytes / 1024, "≤ 4.00", bytes <= scaleMaxBytes, []float64{scaleMaxBytes / 1024}},
		{"Waiters that got an error (ErrLost or any other) while queued, every length", float64(errs), "0", errs == 0, nil},
	}
	for _, h := range r.handoffs[1:] {
		x := r.handoffRatio(h)
		ts = append(ts, target{fmt.Sprintf("Handoff median at %d waiters ÷ at %d, one session", h, r.handoffs[0]),
			x, "0.80×–1.20× (within 20 %)", math.Abs(x-1) <= 0.20, []float64{0.80, 1.20}})
	}
	return ts
}

// growth is the exponent k of time ∝ N^k between two lengths.
func growth(n0, n1 int, t0, t1 time.Duration) float64 {
	return math.Log(float64(t1)/float64(t0)) / math.Log(float64(n1)/float64(n0))
}

// scaleMarkdown writes section 8.
func (r report) scaleMarkdown(p func(string, ...any)) {
	s := r.scale
	p(hScale)
	p("")
	if !s.ran {
		p("Not run (`-scale 0`).")
		p("")
		return
	}
	parkedBy := "the server's count of watches (the `wchs` four-letter word, on the session's server) is up by N: each waiter watches the node ahead of it"
	if !s.watches {
		parkedBy = "the process's goroutine count stopped moving (within 4 over 10 polls 50 ms apart; the server would not answer `wchs`, and this can hold still while a backlog drains behind the session's bounded requests in flight)"
	}
	p("Every contender of a phase goes through **one** session manager (`session.New`: one ZooKeeper session, on %s, a %s; a new one for each queue length and for the locks, closed after it, so that a backlog one phase leaves behind cannot slow the next) and `mutex.New`, in this process: first N waiters on one lock, a goroutine each calling `Lock` at the same instant behind a holder that took the lock first, for N = %s, after one unrecorded run at %d; then %d distinct locks, a goroutine each. **All nodes exist** is when the lock's directory holds every waiter's node, as another session on the same server sees it, polling the directory's Stat (`NumChildren`) every 10 ms (a Stat, so the poll costs the same at any N); **all parked** is when %s. **Memory**: `runtime.GC` and `runtime.ReadMemStats` once all are parked (or at the limit), minus the same taken before the waiters' goroutines started (the holder already holding), ÷ N; the heap (`HeapAlloc`) and, since `HeapAlloc` leaves goroutine stacks out, the stacks (`StackInuse`). **Goroutines**: `runtime.NumGoroutine`'s delta ÷ N, the N callers' own included. The live heap's peak while queueing is sampled every 100 ms (`/gc/heap/live:bytes`, as of the last collection) from the Lock calls until all are parked, and taken with the measurement's own collection, over the same baseline. Each phase (queueing, a handoff window, the cleanup) is bounded by %v and the scenario by %v, and a queue's waits end if the heap in use (`/memory/classes/heap/objects:bytes`: live objects and garbage not yet swept) passes %s (half the machine's memory, at most 12 GiB): what has not finished by then is reported as far as it got.",
		s.server, s.role, joinInts(dedupe(append(append([]int(nil), s.sweep...), s.handoffs...))), s.handoffs[0], s.locks.n, parkedBy, s.limit, s.budget, mib(int64(s.heapCap)))
	p("")

	p(hScaleTargets)
	p("")
	p("| target | measured | threshold | result |")
	p("|---|---|---|---|")
	for _, t := range s.targets() {
		shown, res := t.shown(), verdict(t.pass)
		switch {
		case math.IsNaN(t.measured):
			shown, res = "—", "NOT MEASURED"
		case strings.HasPrefix(t.what, "Waiters that got an error"):
			shown = fmt.Sprintf("%.0f", t.measured)
		case strings.HasPrefix(t.what, "Goroutines"), strings.HasPrefix(t.what, "Heap"):
			shown = fmt.Sprintf("%.2f", t.measured)
		}
		p("| %s | %s | %s | %s |", t.what, shown, t.threshold, res)
	}
	p("")

	p(hScaleQueue)
	p("")
	p("| waiters | nodes created | all nodes exist after | per waiter | all parked after | per waiter | errors while queued | session: disconnections / epochs ended | after the cancel, every node gone in |")
	p("|---|---|---|---|---|---|---|---|---|")
	per := func(d time.Duration, n int) string { return ms(d / time.Duration(max(n, 1))) }
	for _, q := range s.queues {
		if q.skipped {
			p("| %d | — | not run: budget spent | — | — | — | — | — | — |", q.n)
			continue
		}
		nodes := fmt.Sprintf("%d", q.queued)
		switch {
		case !q.allNodes && q.capped:
			nodes = fmt.Sprintf("%d of %d when the heap passed its cap", q.queued, q.n)
		case !q.allNodes:
			nodes = fmt.Sprintf("%d of %d at the limit", q.queued, q.n)
		}
		parked, perParked := secs(q.parked), per(q.parked, q.n)
		if !q.allParked {
			parked, perParked = fmt.Sprintf("not within %s (%s)", secs(q.parked), parkedNote(q)), "—"
			if q.capped {
				parked = fmt.Sprintf("not when the heap passed its cap, %s in (%s)", secs(q.parked), parkedNote(q))
			}
		}
		gone := secs(q.cleanup)
		if q.left > 0 {
			gone = fmt.Sprintf("%d left after %s", q.left, secs(q.cleanup))
		}
		p("| %d | %s | %s | %s | %s | %s | %s | %d / %d | %s |", q.n, nodes, secs(q.nodes), per(q.nodes, q.n), parked, perParked, q.errs.cell(), q.suspended, q.epochs, gone)
	}
	p("")
	lo, hi := s.queue(s.sweep[0]), s.queue(s.sweep[len(s.sweep)-1])
	if lo != nil && hi != nil && hi.n > lo.n {
		var parts []string
		if lo.allNodes && hi.allNodes && lo.nodes > 0 {
			parts = append(parts, fmt.Sprintf("the time until all nodes exist went from %s to %s, as N^%.2f", secs(lo.nodes), secs(hi.nodes), growth(lo.n, hi.n, lo.nodes, hi.nodes)))
		}
		if lo.allParked && hi.allParked && lo.parked > 0 {
			parts = append(parts, fmt.Sprintf("until all are parked from %s to %s, as N^%.2f", secs(lo.parked), secs(hi.parked), growth(lo.n, hi.n, lo.parked, hi.parked)))
		} else if lo.allParked && lo.parked > 0 {
			parts = append(parts, fmt.Sprintf("until all are parked from %s to more than %s (the limit), so faster than N^%.2f", secs(lo.parked), secs(hi.parked), growth(lo.n, hi.n, lo.parked, hi.parked)))
		}
		if len(parts) > 0 {
			p("From %d to %d waiters %s (linear is N^1.00: time per waiter flat).", lo.n, hi.n, strings.Join(parts, "; "))
			p("")
		}
	}
	r.scaleIncidents(p)

	p(hScaleMemory)
	p("")
	p("| waiters | heap per waiter | stacks per waiter | heap + stacks per waiter | goroutines per waiter | measured | live heap's peak while queueing |")
	p("|---|---|---|---|---|---|---|")
	for _, q := range s.queues {
		if q.skipped {
			continue
		}
		p("| %d | %s | %s | %s | %.2f | %s | %s (%s per waiter) |", q.n, kib(q.mem.perHeap(q.n)), kib(q.mem.perStack(q.n)), kib(q.mem.perTotal(q.n)), q.mem.perG(q.n), q.measuredAt(),
			mib(q.peak), kib(float64(q.peak)/float64(max(q.n, 1))))
	}
	p("")

	p(hScaleHandoff)
	p("")
	gate := fmt.Sprintf("until the directory is full again and the server holds every waiter's watch again (`wchs`: the waiter that rejoined has listed the queue, on the same session as the handoff to be timed, and set its watch), then %v", s.settle)
	if !s.watches {
		gate = fmt.Sprintf("until the directory is full again, then %v plus twice the time one listing of the full directory takes (the waiter that rejoined lists the queue on the same session as the handoff to be timed)", s.settle)
	}
	p("With the queue full and parked, the holders release one after another: a sample is the time from a holder calling `Unlock` to the next holder's `Lock` returning (one process, monotonic clock). As in section 4 the queue stays at one holder and N waiters: the holder that released queues again at the tail once the next one holds, and each holder, before it releases, waits %s. Per length, %d handoffs are skipped and %d recorded; then every waiter's context is cancelled and their nodes must be gone.",
		gate, s.skip, s.want)
	p("")
	p("| waiters | handoffs | median | p99 | median ÷ at %d | listing the full directory | quiet time before a release |", s.handoffs[0])
	p("|---|---|---|---|---|---|---|")
	base := s.queue(s.handoffs[0])
	for _, n := range s.handoffs {
		q := s.queue(n)
		switch {
		case q == nil:
			p("| %d | not run: budget spent | — | — | — | — | — |", n)
			continue
		case q.noHandoff != "":
			p("| %d | not run: %s | — | — | — | — | — |", n, q.noHandoff)
			continue
		case len(q.samples) == 0:
			p("| %d | none within the limit | — | — | — | %s | %s |", n, ms(q.listing), ms(q.settle))
			continue
		}
		sum := summarize(q.samples)
		rel := "—"
		if base != nil && len(base.samples) > 0 {
			rel = x(ratio(sum.p50, summarize(base.samples).p50))
		}
		note := ""
		if q.timedOut {
			note = " (limit)"
		}
		p("| %d | %d%s | %s | %s | %s | %s | %s |", n, sum.n, note, ms(sum.p50), ms(sum.p99), rel, ms(q.listing), ms(q.settle))
	}
	p("")

	l := s.locks
	p(hScaleLocks)
	p("")
	p("%d goroutines each `Lock` a mutex of their own (a path each, below one persistent directory, so each `Lock` also creates its lock's directory, a container node) through the same session, all at once; each caller returns once it holds, leaving its lease with the harness, so the goroutines counted are the library's own. Memory and goroutines are measured as above, once every lease's monitor has its watch on the server, and divided by the locks held (callers still waiting at the limit, if any, have returned by then); then every lease is released at once, and every lock's directory must be empty (or reaped).", l.n)
	p("")
	p("| locks | acquired | time to acquire all | per lock | heap per lock | stacks per lock | heap + stacks per lock | goroutines per lock | errors | session: disconnections / epochs ended | release all | directories not empty after |")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|")
	if l.skipped {
		p("| %d | not run: budget spent | — | — | — | — | — | — | — | — | — | — |", l.n)
	} else {
		acq := fmt.Sprintf("%d", l.acquired)
		if l.acquired < l.n {
			acq = fmt.Sprintf("%d of %d", l.acquired, l.n)
		}
		if l.timedOut > 0 {
			acq += fmt.Sprintf(" (%d still waiting at the limit)", l.timedOut)
		}
		p("| %d | %s | %s | %s | %s | %s | %s | %.2f | %s | %d / %d | %s | %d |", l.n, acq, secs(l.took), ms(l.took/time.Duration(max(l.acquired, 1))),
			kib(l.mem.perHeap(l.acquired)), kib(l.mem.perStack(l.acquired)), kib(l.mem.perTotal(l.acquired)), l.mem.perG(l.acquired), l.errs.cell(), l.suspended, l.epochs, secs(l.release), l.left)
	}
	p("")
	if l.errs.n > 0 {
		p("The first error acquiring: `%s`.", l.errs.first)
		p("")
	}
	if l.relErrs.n > 0 {
		p("Releasing: %d errors, the first `%s`.", l.relErrs.n, l.relErrs.first)
		p("")
	}
	if l.hiccups.n > 0 {
		p("The observer's polls failed %d times, the first: `%s`.", l.hiccups.n, l.hiccups.first)
		p("")
	}
	if !l.skipped && !l.allParked {
		p("Not every lease's watch was on the server when memory was measured.")
		p("")
	}
}

// scaleIncidents says what went wrong at any queue length, if anything.
func (r report) scaleIncidents(p func(string, ...any)) {
	var lines []string
	for _, q := range r.scale.queues {
		if q.errs.n > 0 {
			lines = append(lines, fmt.Sprintf("- %d waiters: %d errors while queued, the first `%s`.", q.n, q.errs.n, q.errs.first))
		}
		if q.cancelErrs.n > 0 {
			lines = append(lines, fmt.Sprintf("- %d waiters: %d errors other than the context's after the cancel, the first `%s`.", q.n, q.cancelErrs.n, q.cancelErrs.first))
		}
		if q.hiccups.n > 0 {
			lines = append(lines, fmt.Sprintf("- %d waiters: the observer's polls (the directory's Stat, the server's `wchs`) failed %d times, the first `%s`: the server was not answering for a while.", q.n, q.hiccups.n, q.hiccups.first))
		}
		if q.left > 0 || q.stuck > 0 {
			lines = append(lines, fmt.Sprintf("- %d waiters: %s after the cancel, %d nodes were left and %d callers had not returned; closing the session then took %s, leaving %d nodes.",
				q.n, secs(q.cleanup), q.left, q.stuck, secs(q.closed), q.leftAfterClose))
		}
	}
	for _, line := range lines {
		p("%s", line)
	}
	if len(lines) > 0 {
		p("")
	}
}

func joinInts(v []int) string {
	var s []string
	for _, n := range v {
		s = append(s, fmt.Sprint(n))
	}
	return strings.Join(s, ", ")
}
