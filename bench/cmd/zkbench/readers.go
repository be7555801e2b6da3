package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/session"
)

// group is the sessions of section 5's concurrent clients: all on the
// server of sections 1–2, each dialing through a tracer of its own, so that
// what one client's operation does on the wire can be told from what the
// others do meanwhile.
type group struct {
	managers []*session.Manager
	tracers  []*tracer
}

func openGroup(ctx context.Context, e *env, server string, n int) (*group, error) {
	g := &group{}
	for i := range n {
		tr := &tracer{}
		m, err := e.managerVia(ctx, server, fmt.Sprintf("zkbench/group/%d", i), tr)
		if err != nil {
			g.close()
			return nil, err
		}
		g.managers = append(g.managers, m)
		g.tracers = append(g.tracers, tr)
	}
	return g, nil
}

func (g *group) close() {
	for _, m := range g.managers {
		m.Close()
	}
}

// readers returns, per session, one RLock+RUnlock of the read-write lock at
// dir: every session a reader of the same lock, with no writer.
func (g *group) readers(dir string) ([]func(context.Context) error, error) {
	var ops []func(context.Context) error
	for _, m := range g.managers {
		rw, err := rwlock.New(m, dir)
		if err != nil {
			return nil, err
		}
		ops = append(ops, func(ctx context.Context) error {
			l, err := rw.RLock(ctx)
			if err != nil {
				return err
			}
			return l.RUnlock(ctx)
		})
	}
	return ops, nil
}

// mutexes returns, per session i, one Lock+Unlock of the mutex at dir/i:
// the same clients and the same load as readers, but nobody shares a lock,
// so nobody can wait for anyone.
func (g *group) mutexes(dir string) ([]func(context.Context) error, error) {
	var ops []func(context.Context) error
	for i, m := range g.managers {
		mu, err := mutex.New(m, fmt.Sprintf("%s/%d", dir, i))
		if err != nil {
			return nil, err
		}
		ops = append(ops, func(ctx context.Context) error {
			l, err := mu.Lock(ctx)
			if err != nil {
				return err
			}
			return l.Unlock(ctx)
		})
	}
	return ops, nil
}

// concurrent is the blockOp of every session of the group doing its own op
// (ops[i] on session i) at the same time. A block of n is n operations per
// session, claimed one by one from a shared count, so that every client
// stays busy until at most one operation each is left.
func (g *group) concurrent(key, name string, ops []func(context.Context) error) blockOp {
	return blockOp{key: key, name: name,
		timed: func(ctx context.Context, n int) ([]time.Duration, error) {
			per, err := g.each(ctx, n*len(ops), func(ctx context.Context, i int) (time.Duration, shape, error) {
				t0 := time.Now()
				err := ops[i](ctx)
				return time.Since(t0), shape{}, err
			})
			var d []time.Duration
			for _, p := range per {
				for _, s := range p {
					d = append(d, s.took)
				}
			}
			return d, err
		},
		traced: func(ctx context.Context, n int) ([]shape, error) {
			per, err := g.each(ctx, n*len(ops), func(ctx context.Context, i int) (time.Duration, shape, error) {
				done := g.tracers[i].window()
				err := ops[i](ctx)
				return 0, shapeOf(done()), err
			})
			var ss []shape
			for _, p := range per {
				for _, s := range p {
					ss = append(ss, s.wire)
				}
			}
			return ss, err
		}}
}

type groupSample struct {
	took time.Duration
	wire shape
}

// each runs one worker per session until total operations are done, and
// returns each worker's samples. The first error stops every worker.
func (g *group) each(ctx context.Context, total int, op func(ctx context.Context, i int) (time.Duration, shape, error)) ([][]groupSample, error) {
	var (
		claimed atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	per := make([][]groupSample, len(g.managers))
	start := make(chan struct{})
	for i := range g.managers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for claimed.Add(1) <= int64(total) {
				took, wire, err := op(ctx, i)
				if err != nil {
					errOnce.Do(func() { first = fmt.Errorf("client %d: %w", i, err) })
					claimed.Store(int64(total)) // stop the others
					return
				}
				per[i] = append(per[i], groupSample{took, wire})
			}
		}()
	}
	close(start)
	wg.Wait()
	return per, first
}
