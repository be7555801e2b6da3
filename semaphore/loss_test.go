package semaphore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// A lease's loss is as immediate as a mutex's: Err reads the clock, so the
// first call past the session's safe deadline reports the loss, before the
// epoch's timer has run, and Done is closed by then, with no goroutine in
// between.
func TestLeaseErrReadsTheClock(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	link := c.NewLink()
	defer link.Close()
	m := manager(t, link.Servers(), short)
	l, err := newSemaphore(t, m, dir, 2).Acquire(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := m.Epoch(ctx)
	link.Blackhole()
	for ep.Alive() { // spin: a sleep could let the epoch's timer run first
		if ctx.Err() != nil {
			t.Fatal("the session outlived its deadline")
		}
	}
	err = l.Err()
	if !errors.Is(err, recipes.ErrLost) || !errors.Is(err, session.ErrSafeDeadline) && !errors.Is(err, session.ErrExpired) {
		t.Fatalf("Err at the deadline: %v", err)
	}
	select {
	case <-l.Done():
	default:
		t.Fatal("Err reported the loss while Done was still open")
	}
	if err := l.Release(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Fatalf("Release after loss: %v", err)
	}
	link.Heal()
	c.CheckClean(t, dir)
}

// A timed-out Acquire says where it waited and matches the context's error.
func TestTimedOutAcquireSaysWhere(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	sem := newSemaphore(t, m, dir, 1)
	held, err := sem.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = sem.Acquire(wctx, 1)
	var we *recipes.WaitError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &we) || we.Path != dir+"/leases" || we.Ahead != 1 {
		t.Fatalf("timed-out Acquire: %v (%+v)", err, we)
	}
	held.Release(ctx)
	c.CheckClean(t, dir, m.Current().SessionID())
}
