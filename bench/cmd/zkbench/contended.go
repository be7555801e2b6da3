package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkcoord/zkcoord/session"
)

type contendedResult struct {
	clients, total int // section 3's mutexes: sessions, acquisitions per run
	// rates[system key] holds one acquisitions/s figure per repetition.
	rates map[string][]float64
	names map[string]string
	order []string // section 3's systems; the semaphore is section 6's
	// maxHeld[system key] is the most contenders that held at once, counted
	// in process over every run of the system, the warm-up included.
	maxHeld map[string]int64
	sem     semResult
}

// semResult is section 6: the semaphore's runs are in the maps above under
// key; what is only the semaphore's is here.
type semResult struct {
	key                     string
	permits, workers, total int    // total: acquisitions per run
	wire                    shapes // one Acquire(1)+Release, alone
	// The saturation check: each holder keeps its permit for hold, so that
	// every permit is taken and the limit is what holds the others back.
	hold      time.Duration
	holdTotal int
	holdRate  float64
	holdMax   int64
}

// runContended has every session of the pool hammer one lock with an
// empty critical section until a fixed number of acquisitions is done, and
// the semaphore's workers (one per session of sem) take and give back one
// permit each in the same way. The systems take turns, the one going first
// rotating, and each repetition is a fresh run over the same sessions.
func runContended(ctx context.Context, e *env, cfg config, p *pool, sem []*session.Manager) (contendedResult, error) {
	res := contendedResult{clients: len(p.managers), total: len(p.managers) * cfg.perClient,
		rates: map[string][]float64{}, names: map[string]string{}, maxHeld: map[string]int64{}}
	systems := p.systems()
	for _, s := range systems {
		res.order = append(res.order, s.key)
	}
	ss := semaphoreSystem(sem, cfg.semPermits)
	res.sem = semResult{key: ss.key, permits: cfg.semPermits, workers: len(sem), total: len(sem) * cfg.semPerWorker,
		hold: cfg.semHold, holdTotal: len(sem) * cfg.semHoldPerWorker}
	systems = append(systems, ss)
	total := func(s system) int {
		if s.key == ss.key {
			return res.sem.total
		}
		return res.total
	}
	dir := func(s system) string { return e.root + "/contended/" + s.key }
	for _, s := range systems {
		res.names[s.key] = s.name
		if err := ensurePath(p.conns[0], dir(s)); err != nil {
			return res, err
		}
	}
	// The semaphore's internal lock and lease directories too.
	for _, sub := range []string{"/locks", "/leases"} {
		if err := ensurePath(p.conns[0], dir(ss)+sub); err != nil {
			return res, err
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
	for rep := range cfg.reps {
		for j := range systems {
			s := systems[(j+rep)%len(systems)]
			rate, err := once(s, total(s), 0)
			if err != nil {
				return res, err
			}
			res.rates[s.key] = append(res.rates[s.key], rate)
			e.progress("contended: %s rep %d/%d: %.0f acquisitions/s", s.key, rep+1, cfg.reps, rate)
		}
	}
	for _, s := range systems {
		if s.key == ss.key && res.maxHeld[s.key] > int64(cfg.semPermits) || s.key != ss.key && res.maxHeld[s.key] > 1 {
			e.progress("contended: %s: %d held at once, over its limit", s.key, res.maxHeld[s.key])
		}
	}

	rate, held, err := contendedOnce(ctx, ss, dir(ss), res.sem.holdTotal, cfg.semHold)
	if err != nil {
		return res, err
	}
	res.sem.holdRate, res.sem.holdMax = rate, held
	e.progress("semaphore, each permit held %v: %.0f acquisitions/s, at most %d held at once (limit %d)",
		cfg.semHold, rate, held, cfg.semPermits)
	if res.sem.wire, err = semWire(ctx, e, ss, dir(ss), cfg.block); err != nil {
		return res, fmt.Errorf("semaphore alone: %w", err)
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
