package mutex_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// A Lock whose context ends says where it waited, for how long, and how
// far back in the queue, and still matches the context's error.
func TestTimedOutLockSaysWhere(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	holder, err := newMutex(t, m, dir).Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waiter := newMutex(t, manager(t, c.Servers(), healthy), dir)
	const timeout = 300 * time.Millisecond
	before := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = waiter.Lock(wctx)
	took := time.Since(before)
	var we *recipes.WaitError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &we) {
		t.Fatalf("timed-out Lock: %v", err)
	}
	if we.Path != dir || we.Ahead != 1 || we.Waited < timeout/2 || we.Waited > took {
		t.Fatalf("WaitError %+v, want path %s, 1 ahead, waited about %v (the call took %v)", we, dir, timeout, took)
	}
	holder.Unlock(ctx)
	clean(t, c, dir, m)
}

// During a partition, Lock and Unlock return when their context ends, not
// at the session's safe deadline seconds later; what they leave on the
// server is deleted once the link heals.
func TestPartitionedCallsHonourContext(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	link := c.NewLink()
	defer link.Close()
	m := manager(t, link.Servers(), healthy)
	lock := newMutex(t, m, dir)
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const bound = 300 * time.Millisecond

	t.Run("Unlock", func(t *testing.T) {
		l, err := lock.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		link.Blackhole()
		uctx, cancel := context.WithTimeout(ctx, bound)
		defer cancel()
		err = l.Unlock(uctx)
		if !errors.Is(err, context.DeadlineExceeded) || ep.Err() != nil {
			t.Fatalf("Unlock during a partition: %v, epoch ended: %v", err, ep.Err())
		}
		if !errors.Is(l.Err(), recipes.ErrReleased) {
			t.Fatalf("lease after Unlock: %v", l.Err())
		}
		link.Heal()
		clean(t, c, dir)
	})

	t.Run("Lock", func(t *testing.T) {
		link.Blackhole()
		lctx, cancel := context.WithTimeout(ctx, bound)
		defer cancel()
		_, err := lock.Lock(lctx)
		if !errors.Is(err, context.DeadlineExceeded) || ep.Err() != nil {
			t.Fatalf("Lock during a partition: %v, epoch ended: %v", err, ep.Err())
		}
		link.Heal()
		// The create may have reached the server: its node is found and
		// deleted in the background.
		clean(t, c, dir)
	})
	if ep.Err() != nil {
		t.Fatalf("the session ended: %v", ep.Err())
	}
	clean(t, c, dir, m)
}
