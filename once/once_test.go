package once_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/once"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// Every key delivered to every one of four workers, each with its own
// session, all at once: fn runs exactly once per key, and Do says ran for
// exactly that call.
func TestEveryKeyToEveryWorkerRunsOnce(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	const workers, keys = 4, 60
	var (
		calls [keys]atomic.Int32
		rans  [keys]atomic.Int32
		wg    sync.WaitGroup
	)
	ms := make([]*once.Once, workers)
	for w := range workers {
		m := manager(t, c.Servers(), healthy)
		ms[w] = newOnce(t, m, dir, once.WithIdentity(fmt.Sprintf("worker-%d", w)))
	}
	for w := range workers {
		for k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ran, err := ms[w].Do(ctx, fmt.Sprintf("msg-%03d", k), func(ctx context.Context, token int64) error {
					calls[k].Add(1)
					return nil
				})
				if err != nil {
					t.Errorf("worker %d, key %d: %v", w, k, err)
				}
				if ran {
					rans[k].Add(1)
				}
			}()
		}
	}
	wg.Wait()
	for k := range keys {
		if n, r := calls[k].Load(), rans[k].Load(); n != 1 || r != 1 {
			t.Errorf("key %d: fn called %d times, ran reported %d times; want 1 and 1", k, n, r)
		}
	}
	steady := manager(t, c.Servers(), healthy)
	if n := countNodes(t, steady, dir+"/done"); n < keys {
		t.Errorf("%d nodes under done/, want at least a marker per key (%d)", n, keys)
	}
	clean(t, c, dir, steady)
}

// A key already done is answered from its marker, without queueing: it
// returns even while someone holds the key's lock.
func TestDoneKeyDoesNotQueue(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	o := newOnce(t, m, dir)
	if ran, err := o.Do(ctx, "k", func(context.Context, int64) error { return nil }); !ran || err != nil {
		t.Fatalf("first Do: ran=%v err=%v", ran, err)
	}
	other := manager(t, c.Servers(), healthy)
	mu, err := mutex.New(other, dir+"/locks/k")
	if err != nil {
		t.Fatal(err)
	}
	held, err := mu.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock(ctx)
	quick, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ran, err := o.Do(quick, "k", func(context.Context, int64) error {
		t.Error("fn ran for a key already done")
		return nil
	})
	if ran || err != nil {
		t.Fatalf("Do on a done key while its lock is held: ran=%v err=%v; want false, nil at once", ran, err)
	}
	held.Unlock(ctx)
	clean(t, c, dir, m, other)
}

// A worker that queued while another ran fn looks at the marker again once
// it holds the lock, and does not run fn.
func TestWaiterSeesCompletionUnderLock(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	ma, mb := manager(t, c.Servers(), healthy), manager(t, c.Servers(), healthy)
	a, b := newOnce(t, ma, dir), newOnce(t, mb, dir)
	inside, finish := make(chan struct{}), make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		_, err := a.Do(ctx, "k", func(context.Context, int64) error {
			close(inside)
			<-finish
			return nil
		})
		aDone <- err
	}()
	<-inside
	bDone := make(chan error, 1)
	var bRan atomic.Bool
	go func() {
		ran, err := b.Do(ctx, "k", func(context.Context, int64) error {
			t.Error("b ran fn after a completed the key")
			return nil
		})
		bRan.Store(ran)
		bDone <- err
	}()
	watcher, err := mutex.New(mb, dir+"/locks/k")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "b queued for the key's lock", func() bool {
		st, err := watcher.Status(ctx)
		return err == nil && len(st.Waiters) == 1
	})
	close(finish)
	if err := <-aDone; err != nil {
		t.Fatalf("a: %v", err)
	}
	if err := <-bDone; err != nil || bRan.Load() {
		t.Fatalf("b: ran=%v err=%v; want false, nil", bRan.Load(), err)
	}
	clean(t, c, dir, ma, mb)
}

// fn failing, or panicking, leaves the key not done: the next Do runs it.
func TestFailureLeavesKeyNotDone(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	o := newOnce(t, m, dir)
	boom := errors.New("boom")
	ran, err := o.Do(ctx, "k", func(context.Context, int64) error { return boom })
	if !ran || !errors.Is(err, boom) {
		t.Fatalf("failing fn: ran=%v err=%v; want true and an error matching boom", ran, err)
	}
	func() {
		defer func() {
			if r := recover(); r != "panic in fn" {
				t.Errorf("recovered %v, want fn's panic", r)
			}
		}()
		o.Do(ctx, "k", func(context.Context, int64) error { panic("panic in fn") })
		t.Error("Do returned from a panicking fn")
	}()
	var tokens []int64
	for range 2 {
		ran, err = o.Do(ctx, "k", func(_ context.Context, token int64) error {
			tokens = append(tokens, token)
			return nil
		})
	}
	if len(tokens) != 1 || err != nil || ran {
		t.Fatalf("after the failure and the panic: fn ran %d times, last Do ran=%v err=%v; want once, then false, nil", len(tokens), ran, err)
	}
	clean(t, c, dir, m)
}

// fn's context has the caller's values and deadline, and ends with the
// caller's context.
func TestFnContext(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), healthy)
	o := newOnce(t, m, dir)
	type key struct{}
	deadline := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
	defer cancel()
	ran, err := o.Do(ctx, "k", func(fctx context.Context, token int64) error {
		if fctx.Value(key{}) != "v" {
			t.Error("fn's context lacks the caller's value")
		}
		if d, ok := fctx.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("fn's deadline %v %v, want %v", d, ok, deadline)
		}
		if token <= 0 {
			t.Errorf("token %d", token)
		}
		cancel()
		select {
		case <-fctx.Done():
		case <-time.After(10 * time.Second):
			t.Error("fn's context outlived the caller's")
		}
		return fctx.Err()
	})
	if !ran || !errors.Is(err, context.Canceled) {
		t.Fatalf("ran=%v err=%v; want true, context.Canceled", ran, err)
	}
	clean(t, c, dir, m)
}

// A worker cut off from the ensemble in the middle of fn: its fn's context
// ends before another worker's fn starts; the other worker runs the key;
// the first one's completion is refused (ErrNotRecorded).
func TestWorkerLostMidFnIsRetriedElsewhere(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	link := c.NewLink()
	defer link.Close()
	fragile := manager(t, link.Servers(), short)
	steady := manager(t, c.Servers(), healthy)
	a, b := newOnce(t, fragile, dir), newOnce(t, steady, dir)

	inside := make(chan context.Context, 1)
	aDone := make(chan error, 1)
	var aToken int64
	go func() {
		_, err := a.Do(ctx, "k", func(fctx context.Context, token int64) error {
			aToken = token
			inside <- fctx
			<-fctx.Done()
			return nil // as a worker that finished anyway
		})
		aDone <- err
	}()
	aCtx := <-inside
	bDone := make(chan error, 1)
	var bRan bool
	go func() {
		var err error
		bRan, err = b.Do(ctx, "k", func(_ context.Context, token int64) error {
			if aCtx.Err() == nil {
				t.Error("b's fn started while a's context was live")
			}
			if token <= aToken {
				t.Errorf("b's token %d does not exceed a's %d", token, aToken)
			}
			return nil
		})
		bDone <- err
	}()
	watcher, err := mutex.New(steady, dir+"/locks/k")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "b queued for the key's lock", func() bool {
		st, err := watcher.Status(ctx)
		return err == nil && len(st.Waiters) == 1
	})
	link.Cut()
	if err := <-aDone; !errors.Is(err, once.ErrNotRecorded) || !errors.Is(err, recipes.ErrLost) {
		t.Errorf("a: %v; want ErrNotRecorded and ErrLost", err)
	}
	if err := <-bDone; err != nil || !bRan {
		t.Errorf("b: ran=%v err=%v; want true, nil", bRan, err)
	}
	link.Heal()
	clean(t, c, dir, steady)
}
