package mutex_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/zktest"
)

// A waiter that gives up deletes its node, and the waiter behind it moves
// up without delay.
func TestCancelledWaiterStepsAside(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	holder := newMutex(t, m, dir)
	l, err := holder.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	quitter := newMutex(t, manager(t, c.Servers(), healthy), dir)
	qctx, cancel := context.WithCancel(ctx)
	qerr := make(chan error, 1)
	go func() {
		_, err := quitter.Lock(qctx)
		qerr <- err
	}()
	eventually(t, 10*time.Second, "quitter queued", func() bool {
		st, _ := holder.Status(ctx)
		return len(st.Waiters) == 1
	})
	next := newMutex(t, manager(t, c.Servers(), healthy), dir)
	acquired := make(chan *mutex.Lease, 1)
	go func() {
		l, err := next.Lock(ctx)
		if err != nil {
			t.Error(err)
		}
		acquired <- l
	}()
	eventually(t, 10*time.Second, "next queued", func() bool {
		st, _ := holder.Status(ctx)
		return len(st.Waiters) == 2
	})
	cancel()
	if err := <-qerr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Lock: %v", err)
	}
	// Lock returned at once; its node goes in the background.
	eventually(t, 10*time.Second, "cancelled waiter's node deleted", func() bool {
		st, err := holder.Status(ctx)
		return err == nil && len(st.Waiters) == 1
	})
	released := time.Now()
	l.Unlock(ctx)
	select {
	case nl := <-acquired:
		if d := time.Since(released); d > 2*time.Second {
			t.Fatalf("next waiter acquired %v after release", d)
		}
		nl.Unlock(ctx)
	case <-time.After(10 * time.Second):
		t.Fatal("next waiter never acquired")
	}
	clean(t, c, dir, m)
}

func TestThousandWaitersCancelledAtOnce(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	m := manager(t, c.Servers(), healthy)
	lock := newMutex(t, m, dir)
	l, err := lock.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const waiters = 1000
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, waiters)
	for range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := lock.Lock(wctx)
			errs <- err
		}()
	}
	ep, _ := m.Epoch(ctx)
	queued := func() int {
		kids, _, err := ep.Children(ctx, dir)
		if err != nil {
			return -1
		}
		return len(kids)
	}
	eventually(t, time.Minute, "all waiters queued", func() bool { return queued() == waiters+1 })
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: %v", err)
		}
	}
	eventually(t, time.Minute, "every cancelled waiter's node deleted, the holder's alone left", func() bool { return queued() == 1 })
	l.Unlock(ctx)
	clean(t, c, dir, m)
}

// When the node a waiter watches disappears because its owner's session
// expired, the waiter looks again and waits for the holder: it must not
// take the lock early.
func TestPredecessorVanishesWaiterDoesNotJumpHolder(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	hm := manager(t, c.Servers(), healthy)
	holder := newMutex(t, hm, dir)
	l, err := holder.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	link := c.NewLink()
	defer link.Close()
	doomed := newMutex(t, manager(t, link.Servers(), short), dir)
	go doomed.Lock(ctx) // returns lost once its session ends
	eventually(t, 10*time.Second, "doomed queued", func() bool {
		st, _ := holder.Status(ctx)
		return len(st.Waiters) == 1
	})
	wm := manager(t, c.Servers(), healthy)
	waiter := newMutex(t, wm, dir)
	acquired := make(chan time.Time, 1)
	go func() {
		wl, err := waiter.Lock(ctx)
		acquired <- time.Now()
		if err == nil {
			wl.Unlock(ctx)
		}
	}()
	eventually(t, 10*time.Second, "waiter queued", func() bool {
		st, _ := holder.Status(ctx)
		return len(st.Waiters) == 2
	})
	link.Cut()
	// The waiter, woken by the deletion, must end up watching the holder.
	eventually(t, 20*time.Second, "waiter watches the holder", func() bool {
		w, err := c.Watches()
		if err != nil {
			return false
		}
		for _, p := range w[wm.Current().SessionID()] {
			if p == l.Path() {
				return true
			}
		}
		return false
	})
	select {
	case <-acquired:
		t.Fatal("waiter acquired while the holder held")
	default:
	}
	released := time.Now()
	l.Unlock(ctx)
	if at := <-acquired; at.Before(released) {
		t.Fatal("waiter acquired before release")
	}
	link.Heal()
	clean(t, c, dir, hm, wm)
}
