package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

type contendedResult struct {
	clients, total int
	// rates[system key] holds one acquisitions/s figure per repetition.
	rates map[string][]float64
	names map[string]string
	order []string
}

// runContended has every session of the pool hammer one lock with an
// empty critical section until a fixed number of acquisitions is done.
// The systems take turns, the one going first alternating, and each
// repetition is a fresh run over the same sessions.
func runContended(ctx context.Context, e *env, cfg config, p *pool) (contendedResult, error) {
	res := contendedResult{clients: len(p.managers), total: len(p.managers) * cfg.perClient,
		rates: map[string][]float64{}, names: map[string]string{}}
	systems := p.systems()
	for _, s := range systems {
		res.order = append(res.order, s.key)
		res.names[s.key] = s.name
		if err := ensurePath(p.conns[0], e.root+"/contended/"+s.key); err != nil {
			return res, err
		}
	}
	// Warm-up, one full run each, not recorded: after a short one, the
	// first recorded run of each system came out well below the later ones.
	for _, s := range systems {
		if _, err := contendedOnce(ctx, s, e.root+"/contended/"+s.key, res.total); err != nil {
			return res, err
		}
	}
	for rep := range cfg.reps {
		for j := range systems {
			s := systems[(j+rep)%len(systems)]
			rate, err := contendedOnce(ctx, s, e.root+"/contended/"+s.key, res.total)
			if err != nil {
				return res, err
			}
			res.rates[s.key] = append(res.rates[s.key], rate)
			e.progress("contended: %s rep %d/%d: %.0f acquisitions/s", s.key, rep+1, cfg.reps, rate)
		}
	}
	return res, nil
}

// contendedOnce returns acquisitions per second over total acquisitions
// shared by one contender per session. Each contender claims an
// acquisition before taking the lock, so exactly total are made.
func contendedOnce(ctx context.Context, s system, dir string, total int) (float64, error) {
	lockers := make([]locker, s.sessions)
	for i := range lockers {
		l, err := s.newLocker(i, dir)
		if err != nil {
			return 0, err
		}
		lockers[i] = l
	}
	var (
		claimed atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
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
		return 0, fmt.Errorf("contended %s: %w", s.key, first)
	}
	return float64(total) / elapsed.Seconds(), nil
}
