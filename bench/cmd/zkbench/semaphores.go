package main

import (
	"context"
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
)

// openManagers opens n zkcoord sessions spread round-robin over the
// servers, as openPool does, for the semaphore's workers.
func (e *env) openManagers(ctx context.Context, n int, identity string) ([]*session.Manager, error) {
	var ms []*session.Manager
	for i := range n {
		m, err := e.manager(ctx, e.servers[i%len(e.servers)], fmt.Sprintf("%s/%d", identity, i))
		if err != nil {
			closeManagers(ms)
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func closeManagers(ms []*session.Manager) {
	for _, m := range ms {
		m.Close()
	}
}

// semaphoreSystem is a counting semaphore of permits driven as a lock: a
// contender's lock is Acquire(ctx, 1), its unlock Release.
func semaphoreSystem(ms []*session.Manager, permits int) system {
	return system{key: "semaphore", name: fmt.Sprintf("zkcoord semaphore, %d permits", permits), sessions: len(ms),
		newLocker: func(s int, dir string) (locker, error) {
			sem, err := semaphore.New(ms[s], dir, permits)
			if err != nil {
				return nil, err
			}
			return &semLocker{m: ms[s], sem: sem, dir: dir}, nil
		}}
}

type semLocker struct {
	m   *session.Manager
	sem *semaphore.Semaphore
	dir string
}

func (z *semLocker) lock(ctx context.Context) (func(context.Context) error, error) {
	l, err := z.sem.Acquire(ctx, 1)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

func (z *semLocker) list(ctx context.Context) ([]string, error) {
	ep, err := z.m.Epoch(ctx)
	if err != nil {
		return nil, err
	}
	names, _, err := ep.Children(ctx, z.dir+"/leases")
	return names, err
}

// semWire is what one Acquire(1)+Release does on the wire with nobody else
// about, through session 0 (traced by the run's shared tracer): the
// internal lock's round trips are what bound the semaphore's throughput.
func semWire(ctx context.Context, e *env, s system, dir string, n int) (shapes, error) {
	l, err := s.newLocker(0, dir)
	if err != nil {
		return shapes{}, err
	}
	var ss []shape
	for range n {
		done := e.trace.window()
		unlock, err := l.lock(ctx)
		if err == nil {
			err = unlock(ctx)
		}
		ev := done()
		if err != nil {
			return shapes{}, err
		}
		ss = append(ss, shapeOf(ev))
	}
	return summarizeShapes(ss), nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
