package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// Section 8 (issue 13, item 5): scale in one process. Every contender goes
// through ONE session manager: N waiters queued on one mutex, a goroutine
// each, then the handoff at the head of that queue; and N distinct mutexes
// held at once. What it measures is the process's side: how long N
// contenders take to queue up, what each costs in memory and goroutines,
// whether any of them fails, and whether a handoff slows down as the queue
// behind it grows. Every phase is bounded, and the whole scenario too: a
// library that cannot keep up is reported as far as it got, never waited
// for.

// scaleResult is what section 8 measured.
type scaleResult struct {
	ran      bool
	server   string // the session's server
	role     string
	limit    time.Duration // bound on each phase
	budget   time.Duration // bound on the whole scenario
	heapCap  uint64        // heap in use at which a queue's waits end
	watches  bool          // parked was judged by the server's watch count (wchs)
	settle   time.Duration // base quiet time before each release (cfg.settle)
	skip     int           // handoffs not recorded at the start of each window
	want     int           // handoffs recorded per window
	sweep    []int         // the queue lengths swept for queueing
	handoffs []int         // the queue lengths with a handoff window
	queues   []scaleQueue  // one per queue length, ascending
	locks    scaleLocks
}

// scaleQueue is one queue length: n waiters behind one holder.
type scaleQueue struct {
	n       int
	skipped bool // the scenario's budget was spent before this length
	queued  int  // waiters whose node existed when the phase ended
	// Times from the Lock calls: until every waiter's node existed (nodes)
	// and until every waiter was parked on its watch (parked), or until
	// the phase's limit when allNodes or allParked is false.
	nodes, parked       time.Duration
	allNodes, allParked bool
	watched             int // watches the waiters had set when the phase ended (-1: not known)
	mem                 scaleMem
	peak                int64     // the live heap's peak while queueing, over the baseline, bytes
	capped              bool      // the waits ended because the heap in use passed its cap
	errs                scaleErrs // while queued and during the handoffs
	epochs              int       // session epochs that ended during this length
	handoff             bool      // this length has a handoff window
	noHandoff           string    // why it was not run, if it was not
	samples             []time.Duration
	listing             time.Duration // one listing of the full directory, by another session
	settle              time.Duration // quiet time before each release at this length
	timedOut            bool          // the window's limit passed before all were recorded
	cancelErrs          scaleErrs     // errors other than the context's, after the cancel
	hiccups             scaleErrs     // the observer's failed polls (the server not serving)
	suspended           int           // the session's disconnections during this length
	cleanup             time.Duration // from the cancel to the directory being empty (or the limit)
	left                int           // nodes left when the cleanup's limit passed
	stuck               int           // callers that had not returned by then
	// If anything was left: closing the session, until the directory was
	// empty and every caller had returned, and the nodes still left then.
	closed         time.Duration
	leftAfterClose int
	total          time.Duration // the whole length, cleanup included
}

// scaleLocks is n distinct locks held at once.
type scaleLocks struct {
	n         int
	skipped   bool
	acquired  int
	timedOut  int           // Lock calls still waiting at the phase's limit
	took      time.Duration // from the Lock calls to the last one returning
	allParked bool          // every lease's monitor had its watch set when measured
	mem       scaleMem
	errs      scaleErrs
	epochs    int
	release   time.Duration // releasing all, concurrently
	relErrs   scaleErrs
	left      int // lock directories with a child left after the release
	hiccups   scaleErrs
	suspended int
}

// scaleMem is what n contenders cost the process, measured after a forced
// collection with all of them in place, against the same before they
// started.
type scaleMem struct {
	heap, stack int64 // HeapAlloc and StackInuse deltas, bytes
	goroutines  int   // runtime.NumGoroutine delta
}

func (m scaleMem) perHeap(n int) float64  { return float64(m.heap) / float64(max(n, 1)) }
func (m scaleMem) perStack(n int) float64 { return float64(m.stack) / float64(max(n, 1)) }
func (m scaleMem) perTotal(n int) float64 { return float64(m.heap+m.stack) / float64(max(n, 1)) }
func (m scaleMem) perG(n int) float64     { return float64(m.goroutines) / float64(max(n, 1)) }

// scaleErrs is a count of errors, with the first message.
type scaleErrs struct {
	n     int
	lost  int // matching recipes.ErrLost
	first string
}

func (s scaleErrs) err() error {
	if s.n == 0 {
		return nil
	}
	return fmt.Errorf("%d errors, the first: %s", s.n, s.first)
}

// errTally counts errors from many goroutines.
type errTally struct {
	mu sync.Mutex
	s  scaleErrs
}

func (t *errTally) add(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.n++
	if errors.Is(err, recipes.ErrLost) {
		t.s.lost++
	}
	if t.s.first == "" {
		t.s.first = err.Error()
	}
}

func (t *errTally) snapshot() scaleErrs {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s
}

// scaleSizes is the sizes of list below n, and n: the sweep that a -scale
// flag of n runs.
func scaleSizes(list []int, n int) []int {
	var out []int
	for _, v := range list {
		if v < n {
			out = append(out, v)
		}
	}
	return append(out, n)
}

// withScale sets the largest N of section 8; 0 skips it.
func (c config) withScale(n int) config {
	if n <= 0 {
		c.scaleWaiters, c.scaleHandoffAt, c.scaleLocks = nil, nil, 0
		return c
	}
	c.scaleWaiters = scaleSizes(c.scaleWaiters, n)
	c.scaleHandoffAt = scaleSizes(c.scaleHandoffAt, n)
	c.scaleLocks = n
	return c
}

func dedupe(v []int) []int {
	slices.Sort(v)
	return slices.Compact(v)
}

// scaleRun is what every phase of section 8 shares.
type scaleRun struct {
	e      *env
	cfg    config
	server string    // the server of every session of the section
	obs    *zk.Conn  // another session on the same server, to watch sizes
	end    time.Time // the scenario's budget ends
	// The heap in use at which a queue's waits end (heapCap).
	heapCap uint64
	// The phases' managers' epochs that ended (Expired), and their
	// disconnections (Suspended), which the session may survive.
	ended, suspended atomic.Int64
}

// open starts the one session manager of a phase: a phase's contenders
// all go through it, and each phase has its own, so that a backlog one
// phase leaves behind cannot slow the next. end closes it (once), which
// also deletes whatever ephemeral node it still has on the server.
func (s *scaleRun) open(ctx context.Context) (m *session.Manager, end func(), err error) {
	m, err = s.e.manager(ctx, s.server, "zkbench/scale")
	if err != nil {
		return nil, nil, err
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ch := range m.Subscribe(sctx) {
			switch ch.State {
			case session.Expired:
				s.ended.Add(1)
			case session.Suspended:
				s.suspended.Add(1)
			}
		}
	}()
	var once sync.Once
	return m, func() {
		once.Do(func() {
			m.Close()
			stop()
			<-done
		})
	}, nil
}

// deadline is the end of a phase starting at from.
func (s *scaleRun) deadline(from time.Time) time.Time {
	d := from.Add(s.cfg.scaleLimit)
	if s.end.Before(d) {
		return s.end
	}
	return d
}

// runScale runs section 8, every phase on a session of its own on server.
func runScale(ctx context.Context, e *env, cfg config, server, role string) (scaleResult, error) {
	res := scaleResult{server: server, role: role, limit: cfg.scaleLimit, budget: cfg.scaleBudget, settle: cfg.settle,
		skip: cfg.scaleWarmHandoffs, want: cfg.scaleHandoffs, handoffs: cfg.scaleHandoffAt, sweep: cfg.scaleWaiters}
	if len(cfg.scaleWaiters) == 0 && cfg.scaleLocks == 0 {
		return res, nil
	}
	res.ran = true
	obs, err := e.conn(ctx, server)
	if err != nil {
		return res, err
	}
	defer obs.Close()
	s := &scaleRun{e: e, cfg: cfg, server: server, obs: obs, end: time.Now().Add(cfg.scaleBudget), heapCap: heapCap()}
	res.heapCap = s.heapCap
	_, err = watchTotal(server)
	res.watches = err == nil
	if !res.watches {
		e.progress("scale: the server does not answer wchs (%v): parked is judged by the goroutine count instead", err)
	}

	// An unrecorded run first, so that the servers' JIT and this process's
	// connections are warm when the shortest queue is timed.
	if len(cfg.scaleHandoffAt) > 0 {
		w := cfg.scaleHandoffAt[0]
		if _, err := s.queue(ctx, w, true, "warm-up", res.watches); err != nil {
			return res, fmt.Errorf("scale, warm-up with %d waiters: %w", w, err)
		}
	}
	lengths := dedupe(append(slices.Clone(cfg.scaleWaiters), cfg.scaleHandoffAt...))
	for _, n := range lengths {
		if !time.Now().Before(s.end) {
			res.queues = append(res.queues, scaleQueue{n: n, skipped: true})
			e.progress("scale: %d waiters on one lock: skipped, the scenario's budget of %v is spent", n, cfg.scaleBudget)
			continue
		}
		e0, s0 := s.ended.Load(), s.suspended.Load()
		q, err := s.queue(ctx, n, slices.Contains(cfg.scaleHandoffAt, n), "queue", res.watches)
		q.epochs, q.suspended = int(s.ended.Load()-e0), int(s.suspended.Load()-s0)
		res.queues = append(res.queues, q)
		if err != nil {
			return res, fmt.Errorf("scale, %d waiters: %w", n, err)
		}
		e.progress("scale: %d waiters on one lock: %d nodes in %v, %s in %v; %.2f KiB and %.2f goroutines per waiter; %d errors, %d disconnections, %d epochs ended, %d failed polls%s; cleanup %v (%d left); %v in all",
			n, q.queued, q.nodes.Round(time.Millisecond), parkedNote(q), q.parked.Round(time.Millisecond),
			q.mem.perTotal(n)/1024, q.mem.perG(n), q.errs.n, q.suspended, q.epochs, q.hiccups.n, handoffNote(q), q.cleanup.Round(time.Millisecond), q.left, q.total.Round(time.Millisecond))
	}
	if cfg.scaleLocks > 0 {
		if !time.Now().Before(s.end) {
			res.locks = scaleLocks{n: cfg.scaleLocks, skipped: true}
			e.progress("scale: %d distinct locks: skipped, the scenario's budget of %v is spent", cfg.scaleLocks, cfg.scaleBudget)
			return res, nil
		}
		e0, s0 := s.ended.Load(), s.suspended.Load()
		l, err := s.locks(ctx, cfg.scaleLocks, res.watches)
		l.epochs, l.suspended = int(s.ended.Load()-e0), int(s.suspended.Load()-s0)
		res.locks = l
		if err != nil {
			return res, fmt.Errorf("scale, %d locks: %w", cfg.scaleLocks, err)
		}
		e.progress("scale: %d distinct locks: acquired %d in %v (%d still waiting at the limit), %.2f KiB and %.2f goroutines per lock, %d errors; released in %v, %d left",
			l.n, l.acquired, l.took.Round(time.Millisecond), l.timedOut, l.mem.perTotal(l.acquired)/1024, l.mem.perG(l.acquired), l.errs.n, l.release.Round(time.Millisecond), l.left)
	}
	return res, nil
}

func parkedNote(q scaleQueue) string {
	switch {
	case q.watched < 0 && q.allParked:
		return "goroutines settled"
	case q.watched < 0:
		return "goroutines never settled"
	case q.allParked:
		return "all watches set"
	}
	return fmt.Sprintf("%d of %d watches set", q.watched, q.n)
}

func handoffNote(q scaleQueue) string {
	switch {
	case !q.handoff:
		return ""
	case q.noHandoff != "":
		return "; no handoffs: " + q.noHandoff
	}
	return fmt.Sprintf("; handoff median %v over %d", summarize(q.samples).p50.Round(time.Microsecond), len(q.samples))
}

// heapCap is the heap in use (live objects and garbage not yet swept) at
// which a queue stops waiting: half the machine's memory, at most 12 GiB,
// so that a library that holds a listing of the whole queue per waiter
// ends the phase instead of the machine.
func heapCap() uint64 {
	const most = 12 << 30
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return most
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil {
					return min(most, kb<<10/2)
				}
			}
		}
	}
	return most
}

// peakHeap samples, every 100 ms until stop is called, the live heap (as
// of the last collection) and the heap in use (live objects and garbage
// not yet swept), both read without stopping the world; stop returns the
// live heap's peak. Once the heap in use passes limit, it calls over, once.
func peakHeap(limit uint64, over func()) (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	read := func() (live, inUse uint64) {
		metrics.Read(sample)
		for i, v := range []*uint64{&live, &inUse} {
			if sample[i].Value.Kind() == metrics.KindUint64 {
				*v = sample[i].Value.Uint64()
			}
		}
		return live, inUse
	}
	var peak atomic.Uint64
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		called := false
		for {
			v, inUse := read()
			if v > peak.Load() {
				peak.Store(v)
			}
			if inUse > limit && !called {
				called = true
				over()
			}
			select {
			case <-t.C:
			case <-quit:
				return
			}
		}
	}()
	return func() uint64 {
		close(quit)
		<-done
		return peak.Load()
	}
}

// memNow collects garbage and reads the heap, the stacks and the goroutines.
func memNow() (runtime.MemStats, int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms, runtime.NumGoroutine()
}

func memSince(base runtime.MemStats, g0 int) scaleMem {
	now, g := memNow()
	return scaleMem{heap: int64(now.HeapAlloc) - int64(base.HeapAlloc),
		stack: int64(now.StackInuse) - int64(base.StackInuse), goroutines: g - g0}
}

var reWatches = regexp.MustCompile(`Total watches:\s*(\d+)`)

// watchTotal is the number of watches the server holds, over all its
// sessions, from the wchs four-letter word.
func watchTotal(server string) (int, error) {
	c, err := net.DialTimeout("tcp", server, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "wchs"); err != nil {
		return 0, err
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return 0, err
	}
	m := reWatches.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wchs: unexpected answer %q", out)
	}
	return strconv.Atoi(string(m[1]))
}

// waitWatches polls the server until it holds want watches more than
// before, or deadline; it returns the last count over before, and whether
// it got there. A failed poll (a server that drops out of its quorum under
// the load says it is not serving) goes to hiccups, and polling goes on.
func waitWatches(ctx context.Context, server string, before, want int, deadline time.Time, every time.Duration, hiccups *errTally) (int, bool) {
	last := 0
	for {
		w, err := watchTotal(server)
		if err != nil {
			hiccups.add(fmt.Errorf("wchs: %w", err))
		} else if last = w - before; last >= want {
			return last, true
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return last, false
		}
		sleep(ctx, every)
	}
}

// baseWatches is the server's watch count before a phase, retried for a
// while if the server is not serving.
func baseWatches(ctx context.Context, server string, hiccups *errTally) (int, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		w, err := watchTotal(server)
		if err == nil {
			return w, nil
		}
		hiccups.add(fmt.Errorf("wchs: %w", err))
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return 0, fmt.Errorf("wchs on %s: %w", server, err)
		}
		sleep(ctx, 500*time.Millisecond)
	}
}

// settleGoroutines waits, until deadline, for the process's goroutine
// count to stop moving (within 4 over ten polls 50 ms apart), and returns
// when it first held still. Only where the server will not say how many
// watches it holds: a session's bounded requests in flight hold the count
// still while a backlog drains behind them.
func settleGoroutines(ctx context.Context, deadline time.Time) (time.Time, bool) {
	const polls, band = 10, 4
	var seen []int
	var at []time.Time
	for time.Now().Before(deadline) && ctx.Err() == nil {
		seen = append(seen, runtime.NumGoroutine())
		at = append(at, time.Now())
		if len(seen) >= polls {
			w := seen[len(seen)-polls:]
			if slices.Max(w)-slices.Min(w) <= band {
				return at[len(at)-polls], true
			}
		}
		sleep(ctx, 50*time.Millisecond)
	}
	return time.Now(), false
}

// children is the number of children of dir, as the observer's session sees
// it: a Stat, so that polling a directory of ten thousand costs no more
// than polling one of ten.
func children(obs *zk.Conn, dir string) (int, error) {
	ok, st, err := obs.Exists(dir)
	if err != nil || !ok {
		return 0, err
	}
	return int(st.NumChildren), nil
}

// waitChildren polls dir until cond holds of its size, ctx ends or
// deadline passes; it returns the last size seen. A failed poll goes to
// hiccups, and polling goes on.
func waitChildren(ctx context.Context, obs *zk.Conn, dir string, deadline time.Time, every time.Duration, cond func(int) bool, hiccups *errTally) (int, bool) {
	last := 0
	for {
		n, err := children(obs, dir)
		if err != nil {
			hiccups.add(fmt.Errorf("observer: %w", err))
		} else if last = n; cond(n) {
			return n, true
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return last, false
		}
		sleep(ctx, every)
	}
}

// scaleChain is the relay at the head of one queue: a sample is the time
// from a holder calling Unlock to the next holder's Lock returning (one
// process, monotonic clock). The holder that released queues again at the
// tail once the next one holds, so the queue stays at one holder and n
// waiters, as in section 4.
type scaleChain struct {
	skip, want int
	stop       chan struct{} // closed once want samples are in, or by end
	once       sync.Once

	mu       sync.Mutex
	released bool // a release is stamped and nobody has taken over yet
	relAt    time.Time
	rejoin   chan struct{} // closed when the next holder takes over
	samples  []time.Duration
}

func (c *scaleChain) end() { c.once.Do(func() { close(c.stop) }) }

// acquired records a new holder and reports whether the relay goes on.
func (c *scaleChain) acquired(at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.stop:
		return false
	default:
	}
	if c.released {
		c.released = false
		if c.skip > 0 {
			c.skip--
		} else {
			c.samples = append(c.samples, at.Sub(c.relAt))
		}
		if len(c.samples) >= c.want {
			c.end()
			return false
		}
	}
	if c.rejoin != nil {
		close(c.rejoin)
		c.rejoin = nil
	}
	return true
}

// releasing stamps the start of a handoff (Unlock is called right after)
// and returns what tells the releaser it may queue again.
func (c *scaleChain) releasing() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.rejoin, c.released, c.relAt = ch, true, time.Now()
	return ch
}

func (c *scaleChain) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.samples)
}

// queue queues n waiters behind one holder on one mutex, all through the
// one session, measures them, runs the handoff window if asked, then
// cancels every waiter and checks that their nodes are gone.
func (s *scaleRun) queue(ctx context.Context, n int, withHandoff bool, label string, watches bool) (q scaleQueue, err error) {
	t00 := time.Now()
	defer func() { q.total = time.Since(t00) }()
	cfg := s.cfg
	q = scaleQueue{n: n, handoff: withHandoff, watched: -1}
	dir := fmt.Sprintf("%s/scale/%s-%d", s.e.root, label, n)
	if err := ensurePath(s.e.admin, dir); err != nil {
		return q, err
	}
	m, closeM, err := s.open(ctx)
	if err != nil {
		return q, err
	}
	defer closeM()
	mu, err := mutex.New(m, dir)
	if err != nil {
		return q, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		errs, cancelErrs errTally
		hiccups          errTally     // the observer's failed polls
		failed           atomic.Int64 // waiters that returned an error before the cancel
		active           atomic.Int64 // callers that have not returned
		wg               sync.WaitGroup
		begin            = make(chan struct{}) // the first holder waits for it before the relay
		start            = make(chan struct{})
		// Contenders the directory holds when the queue is full.
		full  = func() int { return n + 1 - int(failed.Load()) }
		chain = &scaleChain{skip: cfg.scaleWarmHandoffs, want: cfg.scaleHandoffs, stop: make(chan struct{})}
		// Set before begin closes: quiet time before each release.
		settle time.Duration
		w0     int // the server's watches before the holder locked
	)
	unlock := func(l *mutex.Lease) {
		uctx, stop := context.WithTimeout(context.WithoutCancel(ctx), cfg.scaleLimit)
		defer stop()
		if err := l.Unlock(uctx); err != nil {
			cancelErrs.add(fmt.Errorf("unlock: %w", err))
		}
	}
	worker := func() {
		active.Add(1)
		defer active.Add(-1)
		defer wg.Done()
		for {
			l, err := mu.Lock(wctx)
			if err != nil {
				if wctx.Err() == nil {
					failed.Add(1)
					errs.add(err)
				} else if !errors.Is(err, context.Canceled) {
					cancelErrs.add(err)
				}
				return
			}
			at := time.Now()
			select { // only the first holder waits here: nobody else holds before begin
			case <-begin:
			case <-wctx.Done():
			}
			goOn := wctx.Err() == nil && chain.acquired(at)
			if goOn {
				// Release only once the queue is full again (the last
				// holder back at its tail, its watch set: its listing of
				// the whole queue done) and has had time to settle.
				limit := time.Now().Add(cfg.scaleLimit)
				_, ok := waitChildren(wctx, s.obs, dir, limit, 2*time.Millisecond, func(c int) bool { return c >= full() }, &hiccups)
				if ok && watches {
					_, ok = waitWatches(wctx, s.server, w0, full()-1, limit, 2*time.Millisecond, &hiccups)
				}
				goOn = ok && wctx.Err() == nil
				if goOn {
					sleep(wctx, settle)
					goOn = wctx.Err() == nil
				}
			}
			if !goOn {
				// The relay is over: hold until the rest are cancelled, so
				// that the queue does not drain through the lock.
				<-wctx.Done()
				unlock(l)
				return
			}
			rejoin := chain.releasing()
			if err := l.Unlock(wctx); err != nil {
				if wctx.Err() == nil {
					failed.Add(1)
					errs.add(fmt.Errorf("unlock: %w", err))
				}
				return
			}
			select {
			case <-rejoin:
			case <-chain.stop:
				return
			case <-wctx.Done():
				return
			}
		}
	}

	// Watches on the server before: the waiters' show up on top of them.
	if watches {
		if w0, err = baseWatches(ctx, s.server, &hiccups); err != nil {
			return q, err
		}
	}
	// The holder first, so that every waiter queues behind it.
	wg.Add(1)
	go worker()
	if _, ok := waitChildren(ctx, s.obs, dir, time.Now().Add(cfg.scaleLimit), 5*time.Millisecond, func(c int) bool { return c >= 1 }, &hiccups); !ok {
		cancel()
		wg.Wait()
		return q, errors.Join(fmt.Errorf("the holder did not lock within %v", cfg.scaleLimit), errs.snapshot().err(), hiccups.snapshot().err())
	}

	base, g0 := memNow()
	for range n {
		wg.Add(1)
		go func() {
			<-start
			worker()
		}()
	}
	// The waits for the queue end at the deadline, or when the heap passes
	// its cap.
	qctx, capped := context.WithCancel(ctx)
	defer capped()
	stopPeak := peakHeap(s.heapCap, func() {
		q.capped = true
		capped()
	})
	t0 := time.Now()
	close(start)
	deadline := s.deadline(t0)
	got, ok := waitChildren(qctx, s.obs, dir, deadline, 10*time.Millisecond, func(c int) bool { return c >= full() }, &hiccups)
	q.nodes = time.Since(t0)
	q.queued, q.allNodes = got-1, ok && failed.Load() == 0
	// Parked: the server holds a watch for every waiter (each on the node
	// ahead of it; the first waiter's, on the holder's node, may be the
	// same watch as the holder's lease's own, so n watches in all).
	if watches {
		q.watched, q.allParked = waitWatches(qctx, s.server, w0, n, deadline, 50*time.Millisecond, &hiccups)
		q.parked = time.Since(t0)
	} else {
		at, settled := settleGoroutines(qctx, deadline)
		q.parked, q.allParked = at.Sub(t0), settled
	}
	q.peak = int64(stopPeak()) - int64(base.HeapAlloc)
	if err := ctx.Err(); err != nil {
		cancel()
		wg.Wait()
		return q, err
	}
	q.mem = memSince(base, g0)
	q.peak = max(q.peak, q.mem.heap) // its collection may see more than the last one

	switch {
	case !withHandoff:
	case q.capped:
		q.noHandoff = fmt.Sprintf("the heap passed %s while queueing", mib(int64(s.heapCap)))
	case !q.allNodes || !q.allParked:
		q.noHandoff = fmt.Sprintf("the queue had not settled within %v", deadline.Sub(t0).Round(time.Second))
	case !time.Now().Before(s.end):
		q.noHandoff = "the scenario's budget was spent"
	default:
		// A released holder lists the whole queue when it joins again.
		// Where the server will not count watches, leave it that long,
		// twice, on top of the usual settle, so that its listing is not on
		// the wire during the handoff being timed. The first listing warms
		// the observer's buffers; the second is timed.
		_, _, err := s.obs.Children(dir)
		t1 := time.Now()
		if _, _, err2 := s.obs.Children(dir); err == nil {
			err = err2
		}
		q.listing = time.Since(t1)
		if err != nil {
			cancel()
			wg.Wait()
			return q, err
		}
		settle = cfg.settle
		if !watches {
			settle += 2 * q.listing
		}
		q.settle = settle
		close(begin)
		t := time.NewTimer(time.Until(s.deadline(time.Now())))
		select {
		case <-chain.stop:
		case <-t.C:
			q.timedOut = true
			chain.end()
		case <-ctx.Done():
		}
		t.Stop()
		q.samples = chain.recorded()
	}

	// Cancel the rest and check that they leave nothing behind. The cleanup
	// is bounded by the phase's limit, not the budget: it must be seen.
	t1 := time.Now()
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	left, _ := waitChildren(context.WithoutCancel(ctx), s.obs, dir, t1.Add(cfg.scaleLimit), 10*time.Millisecond, func(c int) bool { return c == 0 }, &hiccups)
	q.cleanup, q.left = time.Since(t1), left
	t := time.NewTimer(time.Until(t1.Add(cfg.scaleLimit)))
	select {
	case <-done:
	case <-t.C:
		q.stuck = int(active.Load())
	}
	t.Stop()
	q.errs, q.cancelErrs = errs.snapshot(), cancelErrs.snapshot()
	// Closing the session ends what the cancel left: its nodes go with it
	// and its callers return. Only then does the next phase start.
	closeM()
	if q.left > 0 || q.stuck > 0 {
		t2 := time.Now()
		q.leftAfterClose, _ = waitChildren(context.WithoutCancel(ctx), s.obs, dir, t2.Add(cfg.scaleLimit), 10*time.Millisecond, func(c int) bool { return c == 0 }, &hiccups)
		select {
		case <-done:
		case <-time.After(time.Until(t2.Add(cfg.scaleLimit))):
			return q, fmt.Errorf("%d callers still in Lock %v after their session closed", active.Load(), cfg.scaleLimit)
		}
		q.closed = time.Since(t2)
	}
	q.hiccups = hiccups.snapshot()
	return q, ctx.Err()
}

// locks locks n distinct mutexes at once through the one session, a
// goroutine each that returns once it holds; measures what holding them
// costs; then releases them all at once and checks that no node is left.
func (s *scaleRun) locks(ctx context.Context, n int, watches bool) (scaleLocks, error) {
	cfg := s.cfg
	l := scaleLocks{n: n}
	dir := fmt.Sprintf("%s/scale/locks-%d", s.e.root, n)
	if err := ensurePath(s.e.admin, dir); err != nil {
		return l, err
	}
	path := func(i int) string { return fmt.Sprintf("%s/l%06d", dir, i) }
	m, closeM, err := s.open(ctx)
	if err != nil {
		return l, err
	}
	defer closeM()
	leases := make([]*mutex.Lease, n)
	var (
		errs, relErrs errTally
		hiccups       errTally // the observer's failed polls
		wg            sync.WaitGroup
		last          atomic.Int64 // when the last Lock returned, since t0
		timedOut      atomic.Int64 // Lock calls that the phase's limit ended
		start         = make(chan struct{})
		t0            time.Time // set before start closes
	)
	w0 := 0
	if watches {
		if w0, err = baseWatches(ctx, s.server, &hiccups); err != nil {
			return l, err
		}
	}
	base, g0 := memNow()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			mu, err := mutex.New(m, path(i))
			if err != nil {
				errs.add(err)
				return
			}
			lctx, cancel := context.WithDeadline(ctx, s.deadline(t0))
			defer cancel()
			lease, err := mu.Lock(lctx)
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					timedOut.Add(1) // the phase's limit, not the library's error
				} else {
					errs.add(err)
				}
				return
			}
			leases[i] = lease
			d := int64(time.Since(t0))
			for {
				cur := last.Load()
				if d <= cur || last.CompareAndSwap(cur, d) {
					break
				}
			}
		}()
	}
	t0 = time.Now()
	close(start)
	wg.Wait()
	l.took = time.Duration(last.Load())
	l.timedOut = int(timedOut.Load())
	for _, x := range leases {
		if x != nil {
			l.acquired++
		}
	}
	// Each lease's monitor watches its node: wait for those watches before
	// measuring, as for the waiters.
	settleBy := time.Now().Add(min(cfg.scaleLimit, 15*time.Second))
	if watches {
		_, l.allParked = waitWatches(ctx, s.server, w0, l.acquired, settleBy, 50*time.Millisecond, &hiccups)
	} else {
		_, l.allParked = settleGoroutines(ctx, settleBy)
	}
	l.mem = memSince(base, g0)
	l.errs = errs.snapshot()

	t1 := time.Now()
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.scaleLimit)
	defer rcancel()
	for _, x := range leases {
		if x == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := x.Unlock(rctx); err != nil {
				relErrs.add(err)
			}
		}()
	}
	wg.Wait()
	l.release = time.Since(t1)
	l.relErrs = relErrs.snapshot()

	// Every lock's directory must be empty (or reaped, as containers are).
	var (
		left  atomic.Int64
		next  atomic.Int64
		first error
		fmu   sync.Mutex
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := children(s.obs, path(i))
				if err != nil {
					fmu.Lock()
					if first == nil {
						first = err
					}
					fmu.Unlock()
					return
				}
				if c > 0 {
					left.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	l.left = int(left.Load())
	// Whatever is left goes with the session: the next phase starts clean.
	closeM()
	l.hiccups = hiccups.snapshot()
	return l, errors.Join(first, ctx.Err())
}
