package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
)

type handoffResult struct {
	sessions int
	settle   time.Duration
	runs     []handoffRun // one per system and queue length, passes merged
	names    map[string]string
	order    []string // the systems' keys, in the report's order
	// peerWire is what one handoff of each peer does on the wire, traced
	// apart from the relay (peerChainWire).
	peerWire map[string]shapes
}

type handoffRun struct {
	key     string
	waiters int
	samples []time.Duration
	listing []time.Duration // one listing of the full queue, by a holder
	sorting time.Duration   // zkcoord only: sorting that listing into a queue, in process
	shapes  []shape         // the wire during each recorded handoff
}

func (r *handoffResult) run(key string, waiters int) *handoffRun {
	for i := range r.runs {
		if r.runs[i].key == key && r.runs[i].waiters == waiters {
			return &r.runs[i]
		}
	}
	r.runs = append(r.runs, handoffRun{key: key, waiters: waiters})
	return &r.runs[len(r.runs)-1]
}

func (r handoffResult) get(key string, waiters int) summary {
	return summarize(r.run(key, waiters).samples)
}

// chainSpec sizes the relay of one run: skip handoffs unrecorded, then
// want recorded, each holder waiting settle before it releases.
type chainSpec struct {
	skip, want int
	settle     time.Duration
}

// runHandoff measures, for each queue length, how long the lock takes to
// pass from one holder to the next. Every system uses sessions spread over
// the servers in the same way (waiters spread over them round-robin). The
// sweep over queue lengths runs in passes, the second in reverse order
// (ABBA), and which system goes first alternates, so drift during the run
// cannot pass for an effect of the queue's length.
func runHandoff(ctx context.Context, e *env, cfg config, systems []system) (handoffResult, error) {
	sp := chainSpec{skip: cfg.warmHandoffs, want: cfg.handoffs, settle: cfg.settle}
	return runChains(ctx, e, "handoff", systems, cfg.waiters, cfg.passes, sp)
}

// runChains runs the relay of section 4 (handoff) or 7 (failover) for
// every system and queue length, in passes.
func runChains(ctx context.Context, e *env, label string, systems []system, waiters []int, passes int, sp chainSpec) (handoffResult, error) {
	res := handoffResult{sessions: systems[0].sessions, settle: sp.settle, names: map[string]string{}}
	for _, s := range systems {
		res.names[s.key] = s.name
		res.order = append(res.order, s.key)
	}
	k := 0
	for pass := range passes {
		for i := range waiters {
			n := waiters[i]
			if pass%2 == 1 {
				n = waiters[len(waiters)-1-i]
			}
			for j := range systems {
				s := systems[(k+j)%len(systems)]
				dir := fmt.Sprintf("%s/%s/%s-%d-%d", e.root, label, s.key, n, pass)
				if err := ensurePath(e.admin, dir); err != nil {
					return res, err
				}
				t0 := time.Now()
				got, err := handoffOnce(ctx, e.trace, s, dir, n, sp)
				if err != nil {
					return res, fmt.Errorf("%s %s with %d waiters: %w", label, s.key, n, err)
				}
				run := res.run(s.key, n)
				run.samples = append(run.samples, got.samples...)
				run.listing = append(run.listing, got.listing...)
				run.shapes = append(run.shapes, got.shapes...)
				if s.key == "zkcoord" && label == "handoff" && len(got.names) > 0 {
					run.sorting = sortCost(got.names)
				}
				e.progress("%s pass %d/%d: %s, %d waiters: median %v over %d handoffs (%v)", label, pass+1, passes,
					s.key, n, summarize(got.samples).p50.Round(time.Microsecond), len(got.samples), time.Since(t0).Round(time.Millisecond))
			}
			k++
		}
	}
	return res, nil
}

// sortCost is the median time zkcoord's queue takes to parse and order one
// listing: the in-process share of a handoff that grows with the queue.
func sortCost(names []string) time.Duration {
	d := make([]time.Duration, 21)
	for i := range d {
		t0 := time.Now()
		recipes.SortContenders(names, recipes.MutexMarkers()...)
		d[i] = time.Since(t0)
	}
	return summarize(d).p50
}

// chain is the relay of holders. A sample is the time from a holder
// calling unlock to the next holder's lock returning, both read from this
// process's monotonic clock.
//
// The queue is kept at exactly one holder and n waiters at every handoff:
// the holder that released joins the tail again, but only once the next
// holder has taken over, so that its create and listing never overlap the
// handoff being measured; and each holder waits, before it releases, until
// the queue is full again and has had time to settle (the rejoined tail
// listing the queue and setting its watch). The first handoffs of a run
// are not recorded: after a thousand contenders have just queued up, the
// servers are still catching up.
type chain struct {
	skip, want int
	trace      *tracer
	stop       chan struct{}   // closed once want samples are in: the queue drains
	join       []chan struct{} // per worker: may enqueue (buffered 1)

	mu      sync.Mutex
	prev    int // worker that released last, -1 before the first release
	relAt   time.Time
	endWire func() []wireEvent // the open trace window, from the last release
	samples []time.Duration
	shapes  []shape
	listing []time.Duration
	names   []string // the last full listing
}

// acquired records a new holder and reports whether the run goes on.
func (c *chain) acquired(at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wire []wireEvent
	if c.endWire != nil {
		wire = c.endWire()
		c.endWire = nil
	}
	select {
	case <-c.stop:
		return false
	default:
	}
	if c.prev >= 0 {
		if c.skip > 0 {
			c.skip--
		} else {
			c.samples = append(c.samples, at.Sub(c.relAt))
			c.shapes = append(c.shapes, shapeOf(wire))
		}
		if len(c.samples) == c.want {
			close(c.stop)
			return false
		}
		// Its earlier permission was used before it locked, so this send
		// never blocks.
		c.join[c.prev] <- struct{}{}
	}
	return true
}

// releasing stamps the start of a handoff; unlock is called right after.
func (c *chain) releasing(w int, listing time.Duration, names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.skip == 0 {
		c.listing = append(c.listing, listing)
	}
	c.names = names
	c.endWire = c.trace.window()
	c.prev, c.relAt = w, time.Now()
}

type handoffOutcome struct {
	samples, listing []time.Duration
	shapes           []shape
	names            []string
}

// handoffOnce runs one holder and n waiters (n+1 workers, worker i on
// session i mod sessions) until the wanted handoffs are recorded, then lets
// the queue drain: each remaining waiter takes the lock and releases it at
// once.
func handoffOnce(ctx context.Context, tr *tracer, s system, dir string, n int, sp chainSpec) (handoffOutcome, error) {
	if s.peer != nil {
		return s.peer.chain(ctx, s.kind, s.group, dir, n, sp)
	}
	c := &chain{skip: sp.skip, want: sp.want, trace: tr, stop: make(chan struct{}), prev: -1}
	lockers := make([]locker, n+1)
	for i := range lockers {
		l, err := s.newLocker(i%s.sessions, dir)
		if err != nil {
			return handoffOutcome{}, err
		}
		lockers[i] = l
		c.join = append(c.join, make(chan struct{}, 1))
		c.join[i] <- struct{}{}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i, l := range lockers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := worker(ctx, c, i, l, n+1, sp.settle); err != nil {
				cancel(fmt.Errorf("worker %d: %w", i, err))
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// zk.Lock ignores contexts: its workers are released when the
		// caller closes the connections on the way out.
		return handoffOutcome{}, context.Cause(ctx)
	}
	if err := context.Cause(ctx); err != nil {
		return handoffOutcome{}, err
	}
	return handoffOutcome{samples: c.samples, listing: c.listing, shapes: c.shapes, names: c.names}, nil
}

func worker(ctx context.Context, c *chain, i int, l locker, full int, settle time.Duration) error {
	for {
		select {
		case <-c.join[i]:
		case <-c.stop:
			return nil
		case <-ctx.Done():
			return nil
		}
		unlock, err := l.lock(ctx)
		if err != nil {
			return err
		}
		goOn := c.acquired(time.Now())
		if goOn {
			took, names, err := waitFull(ctx, l, full)
			if err != nil {
				return err
			}
			t := time.NewTimer(settle)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			c.releasing(i, took, names)
		}
		if err := unlock(ctx); err != nil {
			return err
		}
		if !goOn {
			return nil
		}
	}
}

// waitFull polls the lock's directory until it holds full nodes, and
// returns how long the last listing, the full one, took.
func waitFull(ctx context.Context, l locker, full int) (time.Duration, []string, error) {
	for {
		t0 := time.Now()
		names, err := l.list(ctx)
		took := time.Since(t0)
		if err != nil {
			return 0, nil, err
		}
		if len(names) >= full {
			return took, names, nil
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, nil, context.Cause(ctx)
		}
	}
}
