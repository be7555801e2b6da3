package rwlock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/zktest"
)

// A writer that downgrades holds the read lock before it lets go of the
// write lock: readers queued behind it join, writers behind it still wait,
// and the read token is above the write token.
func TestDowngrade(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	rw := newRW(t, m, dir, rwlock.WithIdentity("owner"))
	w, err := rw.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reader := newRW(t, manager(t, c.Servers(), healthy), dir, rwlock.WithIdentity("reader"))
	readers := make(chan *rwlock.ReadLease, 1)
	go func() {
		l, err := reader.RLock(ctx)
		if err != nil {
			t.Error(err)
		}
		readers <- l
	}()
	queued(t, ctx, rw, 1, 1)

	r, err := w.Downgrade(ctx)
	if err != nil {
		t.Fatalf("Downgrade: %v", err)
	}
	if !errors.Is(w.Err(), recipes.ErrReleased) {
		t.Fatalf("write lease after Downgrade: %v", w.Err())
	}
	if r.Token() <= w.Token() {
		t.Fatalf("read token %d not above write token %d", r.Token(), w.Token())
	}
	var other *rwlock.ReadLease
	select {
	case other = <-readers:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader queued behind the writer did not join the downgraded reader")
	}
	if other == nil {
		t.FailNow()
	}
	st := queued(t, ctx, rw, 2, 0)
	if kinds(st.Holders) != "RR" {
		t.Fatalf("holders %s, want two readers", kinds(st.Holders))
	}

	// A writer now queues behind both readers, and a second downgrade is
	// impossible: the write lease is gone.
	writer := newRW(t, manager(t, c.Servers(), healthy), dir, rwlock.WithIdentity("writer"))
	if _, err := writer.TryLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
		t.Fatalf("TryLock while readers hold: %v", err)
	}
	if _, err := w.Downgrade(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Fatalf("second Downgrade: %v", err)
	}
	if err := r.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	clean(t, c, dir, m)
}

// With another writer waiting, a downgrade would let that writer in while
// our reader holds; it is refused and the write lease stays held.
func TestDowngradeRefusedWithWriterWaiting(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	rw := newRW(t, m, dir)
	w, err := rw.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	waiter := newRW(t, manager(t, c.Servers(), healthy), dir)
	done := make(chan error, 1)
	go func() {
		l, err := waiter.Lock(wctx)
		if err == nil {
			l.Unlock(ctx)
		}
		done <- err
	}()
	queued(t, ctx, rw, 1, 1)
	if _, err := w.Downgrade(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
		t.Fatalf("Downgrade with a writer waiting: %v", err)
	}
	if w.Err() != nil {
		t.Fatalf("write lease ended by a refused downgrade: %v", w.Err())
	}
	st := queued(t, ctx, rw, 1, 1)
	if kinds(st.Holders)+kinds(st.Waiters) != "WW" {
		t.Fatalf("queue %s%s after a refused downgrade, want WW (no read node left)", kinds(st.Holders), kinds(st.Waiters))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting writer: %v", err)
	}
	if err := w.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	clean(t, c, dir, m)
}

// Read → write would wait for our own read lease forever: refused at once,
// nothing written.
func TestUpgradeRefused(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	rw := newRW(t, m, dir)
	r, err := rw.RLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.Lock(ctx); !errors.Is(err, recipes.ErrUpgrade) {
		t.Fatalf("Lock while holding a read lease: %v", err)
	}
	if _, err := rw.TryLock(ctx); !errors.Is(err, recipes.ErrUpgrade) {
		t.Fatalf("TryLock while holding a read lease: %v", err)
	}
	st := queued(t, ctx, rw, 1, 0)
	if kinds(st.Holders) != "R" {
		t.Fatalf("holders %s after refused upgrades", kinds(st.Holders))
	}
	if err := r.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := rw.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock after the read lease is released: %v", err)
	}
	if err := w.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	clean(t, c, dir, m)
}

// A reader cut off from the ensemble learns it lost the read lock before
// a writer can take the lock.
func TestReaderLossPrecedesWriter(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	link := c.NewLink()
	defer link.Close()
	fragile := newRW(t, manager(t, link.Servers(), short), dir)
	m := manager(t, c.Servers(), healthy)
	steady := newRW(t, m, dir)
	r, err := fragile.RLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	taken := make(chan time.Time, 1)
	go func() {
		w, err := steady.Lock(ctx)
		at := time.Now()
		if err != nil {
			t.Error(err)
		} else {
			w.Unlock(ctx)
		}
		taken <- at
	}()
	queued(t, ctx, steady, 1, 1)
	link.Blackhole()
	var lost time.Time
	select {
	case <-r.Done():
		lost = time.Now()
	case at := <-taken:
		t.Fatalf("writer acquired at %v while the cut-off reader's lease was live", at)
	}
	if at := <-taken; !lost.Before(at) {
		t.Fatalf("loss signalled %v after the writer acquired", lost.Sub(at))
	}
	if !errors.Is(r.Err(), recipes.ErrLost) {
		t.Fatalf("reader's cause: %v", r.Err())
	}
	if err := r.RUnlock(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Fatalf("RUnlock after loss: %v", err)
	}
	link.Heal()
	clean(t, c, dir, m)
}

// Readers and writers that give up waiting leave no node, and the
// contender behind them is not held up.
func TestCancelWhileWaiting(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	rw := newRW(t, m, dir)
	w, err := rw.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	errs := make(chan error, 2)
	quitterR := newRW(t, manager(t, c.Servers(), healthy), dir)
	quitterW := newRW(t, manager(t, c.Servers(), healthy), dir)
	go func() { _, err := quitterR.RLock(wctx); errs <- err }()
	queued(t, ctx, rw, 1, 1)
	go func() { _, err := quitterW.Lock(wctx); errs <- err }()
	queued(t, ctx, rw, 1, 2)
	next := newRW(t, manager(t, c.Servers(), healthy), dir)
	got := make(chan *rwlock.ReadLease, 1)
	go func() {
		l, err := next.RLock(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	queued(t, ctx, rw, 1, 3)
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: %v", err)
		}
	}
	st := queued(t, ctx, rw, 1, 1)
	if kinds(st.Waiters) != "R" {
		t.Fatalf("waiters %s after cancellation, want the one live reader", kinds(st.Waiters))
	}
	if err := w.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-got:
		if l != nil {
			l.RUnlock(ctx)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader behind the cancelled waiters never acquired")
	}
	clean(t, c, dir, m)
}

func TestBadInput(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), healthy)
	for _, p := range []string{"", "relative", "/", "/a/", "/a//b", "/a/./b", "/zookeeper/x", "/a\x01b"} {
		if _, err := rwlock.New(m, p); !errors.Is(err, recipes.ErrInvalidPath) {
			t.Errorf("New(%q): %v, want ErrInvalidPath", p, err)
		}
	}
	if _, err := rwlock.New(nil, dir); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("nil manager: %v", err)
	}
	rw := newRW(t, m, dir)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rw.RLock(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("RLock with a cancelled context: %v", err)
	}
	if _, err := rw.Lock(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context: %v", err)
	}
	ctx := within(t, time.Minute)
	r, err := rw.RLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.RUnlock(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Errorf("second RUnlock: %v", err)
	}
	w, err := rw.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Unlock(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Errorf("second Unlock: %v", err)
	}
	closed := manager(t, c.Servers(), healthy)
	cl := newRW(t, closed, dir)
	closed.Close()
	if _, err := cl.RLock(ctx); !errors.Is(err, recipes.ErrClosed) {
		t.Errorf("RLock on a closed manager: %v", err)
	}
	if _, err := cl.Lock(ctx); !errors.Is(err, recipes.ErrClosed) {
		t.Errorf("Lock on a closed manager: %v", err)
	}
	c.CheckClean(t, dir)
}
