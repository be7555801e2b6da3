package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type contendedResult struct {
	clients, total int // section 3's mutexes: sessions, acquisitions per run
	// rates[system key] holds one acquisitions/s figure per repetition.
	rates map[string][]float64
	names map[string]string
	order []string // section 3's systems; the semaphores are section 6's
	// maxHeld[system key] is the most contenders that held at once, counted
	// in process over every run of the system, the warm-up included.
	maxHeld map[string]int64
	sem     semResult
}

// semResult is section 6: the semaphores' runs are in the maps above under
// their keys; what is only the semaphores' is here.
type semResult struct {
	order                   []string          // the semaphores' keys: zkcoord's first
	permits, workers, total int               // total: acquisitions per run
	wire                    map[string]shapes // one Acquire(1)+Release, alone
	// The saturation check: each holder keeps its permit for hold, so that
	// every permit is taken and the limit is what holds the others back.
	hold      time.Duration
	holdTotal int
	holdRate  map[string]float64
	holdMax   map[string]int64
}

// runContended has every session of each mutex system hammer one lock
// with an empty critical section until a fixed number of acquisitions is
// done, and the semaphores' workers (one per session) take and give back
// one permit each in the same way. The systems take turns, the one going
// first rotating, and each repetition is a fresh run over the same
// sessions. wire is what one Acquire(1)+Release of each semaphore does on
// the wire, alone.
func runContended(ctx context.Context, e *env, cfg config, mutexes, sems []system, wire map[string]func(ctx context.Context, dir string) (shapes, error)) (contendedResult, error) {
	res := contendedResult{clients: mutexes[0].sessions, total: mutexes[0].sessions * cfg.perClient,
		rates: map[string][]float64{}, names: map[string]string{}, maxHeld: map[string]int64{}}
	for _, s := range mutexes {
		res.order = append(res.order, s.key)
	}
	res.sem = semResult{permits: cfg.semPermits, workers: sems[0].sessions, total: sems[0].sessions * cfg.semPerWorker,
		hold: cfg.semHold, holdTotal: sems[0].sessions * cfg.semHoldPerWorker,
		wire: map[string]shapes{}, holdRate: map[string]float64{}, holdMax: map[string]int64{}}
	isSem := map[string]bool{}
	for _, s := range sems {
		res.sem.order = append(res.sem.order, s.key)
		isSem[s.key] = true
	}
	systems := append(append([]system{}, mutexes...), sems...)
	total := func(s system) int {
		if isSem[s.key] {
			return res.sem.total
		}
		return res.total
	}
	dir := func(s system) string { return e.root + "/contended/" + s.key }
	for _, s := range systems {
		res.names[s.key] = s.name
		if err := ensurePath(e.admin, dir(s)); err != nil {
			return res, err
		}
	}
	// The semaphores' internal lock and lease directories too: zkcoord's
	// and Curator's <dir>/locks and <dir>/leases, kazoo's <dir>-__lock__.
	for _, s := range sems {
		subs := []string{"/locks", "/leases"}
		if s.key == keyKazooSem {
			subs = []string{"-__lock__"}
			// kazoo keeps the limit as the directory's data, and fails
			// on a directory without data.
			if _, err := e.admin.Set(dir(s), []byte(strconv.Itoa(cfg.semPermits)), -1); err != nil {
				return res, err
			}
		}
		for _, sub := range subs {
			if err := ensurePath(e.admin, dir(s)+sub); err != nil {
				return res, err
			}
		}
	}
	once := func(s system, n int, hold time.Duration) (float64, error) {
		rate, held, err := contendedOnce(ctx, s, dir(s), n, hold)
		res.maxHeld[s.key] = max(res.maxHeld[s.key], held)
		return rate, err
	}
	// Warm-up, one full run each, not recorded: after a short one, the
	// first recorded run of each system came out well below the later ones.
	for _, s := range systems {
		if _, err := once(s, total(s), 0); err != nil {
			return res, err
		}
	}
	// Each repetition runs the mutexes, then the semaphores, each group in
	// a rotating order: the systems compared with one another run close
	// together in time, and many short runs give drift on the machine many
	// chances to even out.
	for rep := range cfg.reps {
		for _, group := range [][]system{mutexes, sems} {
			for j := range group {
				s := group[(j+rep)%len(group)]
				rate, err := once(s, total(s), 0)
				if err != nil {
					return res, err
				}
				res.rates[s.key] = append(res.rates[s.key], rate)
				e.progress("contended: %s rep %d/%d: %.0f acquisitions/s", s.key, rep+1, cfg.reps, rate)
			}
		}
	}
	for _, s := range systems {
		if isSem[s.key] && res.maxHeld[s.key] > int64(cfg.semPermits) || !isSem[s.key] && res.maxHeld[s.key] > 1 {
			e.progress("contended: %s: %d held at once, over its limit", s.key, res.maxHeld[s.key])
		}
	}

	for _, s := range sems {
		rate, held, err := contendedOnce(ctx, s, dir(s), res.sem.holdTotal, cfg.semHold)
		if err != nil {
			return res, err
		}
		res.sem.holdRate[s.key], res.sem.holdMax[s.key] = rate, held
		e.progress("semaphore %s, each permit held %v: %.0f acquisitions/s, at most %d held at once (limit %d)",
			s.key, cfg.semHold, rate, held, cfg.semPermits)
	}
	for _, s := range sems {
		if f := wire[s.key]; f != nil {
			w, err := f(ctx, dir(s))
			if err != nil {
				return res, fmt.Errorf("semaphore %s alone: %w", s.key, err)
			}
			res.sem.wire[s.key] = w
		}
	}
	return res, nil
}

// contendedOnce returns acquisitions per second over total acquisitions
// shared by one contender per session, each holding for hold (0: an empty
// critical section), and the most contenders that held at once. Each
// contender claims an acquisition before taking the lock, so exactly total
// are made.
//
// The holders are counted from the moment lock returns to the moment
// unlock is called: inside the time the server counts the node as a
// holder, so a count over the limit is a real excess, never an artefact of
// counting. With an empty critical section that window is short, and the
// count shows mostly how rarely holders overlap.
func contendedOnce(ctx context.Context, s system, dir string, total int, hold time.Duration) (float64, int64, error) {
	if s.peer != nil {
		return s.peer.contended(ctx, s.kind, s.group, dir, total, hold, s.permits)
	}
	lockers := make([]locker, s.sessions)
	for i := range lockers {
		l, err := s.newLocker(i, dir)
		if err != nil {
			return 0, 0, err
		}
		lockers[i] = l
	}
	var (
		claimed, held, most atomic.Int64
		wg                  sync.WaitGroup
		errOnce             sync.Once
		first               error
	)
	start := make(chan struct{})
	for _, l := range lockers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for claimed.Add(1) <= int64(total) {
				unlock, err := l.lock(ctx)
				if err == nil {
					n := held.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					sleep(ctx, hold)
					held.Add(-1)
					err = unlock(ctx)
				}
				if err != nil {
					errOnce.Do(func() { first = err })
					claimed.Store(int64(total)) // stop the others
					return
				}
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	if first != nil {
		return 0, most.Load(), fmt.Errorf("contended %s: %w", s.key, first)
	}
	return float64(total) / elapsed.Seconds(), most.Load(), nil
}
