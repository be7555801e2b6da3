package semaphore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// bump adds delta to a counter znode with a version check, retrying on
// conflict, and returns the new value.
func bump(ctx context.Context, ep *session.Epoch, path string, delta int) (int, error) {
	for {
		data, stat, err := ep.Get(ctx, path)
		if err != nil {
			return 0, err
		}
		n, _ := strconv.Atoi(string(data))
		_, err = ep.Set(ctx, path, []byte(strconv.Itoa(n+delta)), stat.Version)
		if errors.Is(err, zk.ErrBadVersion) {
			continue
		}
		return n + delta, err
	}
}

// Sixteen clients take permits 100 times each from a semaphore of four;
// each holder counts itself in a shared znode: the count never exceeds four.
func TestNeverMoreThanMaxHolders(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	const clients, rounds, permits = 16, 100, 4
	counter := "/" + strings.ReplaceAll(dir[1:], "/", "_") + "-in-use"
	admin := manager(t, c.Servers(), healthy)
	ctx := within(t, 5*time.Minute)
	ep, _ := admin.Epoch(ctx)
	if _, err := ep.Create(ctx, counter, []byte("0"), zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	defer ep.Delete(context.Background(), counter, -1)
	var peak, inside atomic.Int32
	var acquired atomic.Int32
	var wg sync.WaitGroup
	managers := []*session.Manager{admin}
	for range clients {
		m := manager(t, c.Servers(), healthy)
		managers = append(managers, m)
		sem := newSemaphore(t, m, dir, permits)
		wg.Add(1)
		go func() {
			defer wg.Done()
			mep, _ := m.Epoch(ctx)
			for range rounds {
				l, err := sem.Acquire(ctx, 1)
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				acquired.Add(1)
				now := inside.Add(1)
				for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
				}
				n, err := bump(ctx, mep, counter, 1)
				if err != nil || n > permits {
					t.Errorf("in use: %d (%v)", n, err)
				}
				if _, err := bump(ctx, mep, counter, -1); err != nil {
					t.Error(err)
				}
				inside.Add(-1)
				if err := l.Release(ctx); err != nil {
					t.Errorf("Release: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if acquired.Load() != clients*rounds || peak.Load() > permits {
		t.Fatalf("%d acquisitions, peak %d holders of %d", acquired.Load(), peak.Load(), permits)
	}
	t.Logf("%d acquisitions, peak %d concurrent holders of %d permits", acquired.Load(), peak.Load(), permits)
	if peak.Load() < 2 {
		t.Fatalf("peak %d: the semaphore never let holders share it", peak.Load())
	}
	var ids []int64
	for _, m := range managers {
		ids = append(ids, m.Current().SessionID())
	}
	c.CheckClean(t, dir, ids...)
}

func TestFIFO(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	sem := newSemaphore(t, m, dir, 1)
	first, err := sem.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	const waiters = 6
	order := make(chan int, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		ws := newSemaphore(t, manager(t, c.Servers(), healthy), dir, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := ws.Acquire(ctx, 1)
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			l.Release(ctx)
		}()
		eventually(t, 10*time.Second, "waiter queued", func() bool {
			st, err := sem.Status(ctx)
			return err == nil && len(st.Waiters) == i+1
		})
	}
	first.Release(ctx)
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("waiter %d served in place %d", got, want)
		}
		want++
	}
	c.CheckClean(t, dir, m.Current().SessionID())
}

// A holder whose process dies (here: cut off until its session expires)
// gives its permit back.
func TestCrashedHolderReturnsPermit(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	link := c.NewLink()
	defer link.Close()
	doomed := newSemaphore(t, manager(t, link.Servers(), short), dir, 1)
	m := manager(t, c.Servers(), healthy)
	sem := newSemaphore(t, m, dir, 1)
	dl, err := doomed.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sem.TryAcquire(ctx, 1); !errors.Is(err, recipes.ErrWouldBlock) {
		t.Fatalf("TryAcquire of a taken permit: %v", err)
	}
	link.Cut()
	l, err := sem.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-dl.Done():
	default:
		t.Fatal("a permit was handed on while its old holder's lease was live")
	}
	l.Release(ctx)
	link.Heal()
	c.CheckClean(t, dir, m.Current().SessionID())
}

func TestCancelWhileWaitingLeavesNothing(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	sem := newSemaphore(t, m, dir, 2)
	held, err := sem.Acquire(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	errs := make(chan error, 3)
	for range 3 { // the first waits for permits, the others for the internal lock
		go func() {
			_, err := newSemaphore(t, m, dir, 2).Acquire(wctx, 1)
			errs <- err
		}()
	}
	eventually(t, 10*time.Second, "waiters queued", func() bool {
		st, err := sem.Status(ctx)
		return err == nil && len(st.Waiters) == 3 && len(st.Holders) == 2
	})
	cancel()
	for range 3 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Acquire: %v", err)
		}
	}
	// Acquire returned at once; the waiters' nodes go in the background.
	eventually(t, 10*time.Second, "no waiter left, both holders still there", func() bool {
		st, err := sem.Status(ctx)
		return err == nil && len(st.Waiters) == 0 && len(st.Holders) == 2
	})
	held.Release(ctx)
	c.CheckClean(t, dir, m.Current().SessionID())
}

// Clients asking for two and three permits of four at once all get through.
func TestMultiPermitNoDeadlock(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	var wg sync.WaitGroup
	var inUse, peak atomic.Int32
	var ms []*session.Manager
	for i := range 6 {
		m := manager(t, c.Servers(), healthy)
		ms = append(ms, m)
		sem := newSemaphore(t, m, dir, 4)
		n := 2 + i%2
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				l, err := sem.Acquire(ctx, n)
				if err != nil {
					t.Errorf("Acquire(%d): %v", n, err)
					return
				}
				if l.Permits() != n {
					t.Errorf("lease of %d permits, want %d", l.Permits(), n)
				}
				now := inUse.Add(int32(n))
				for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
				}
				inUse.Add(-int32(n))
				l.Release(ctx)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 4 {
		t.Fatalf("%d permits in use at once, of 4", peak.Load())
	}
	var ids []int64
	for _, m := range ms {
		ids = append(ids, m.Current().SessionID())
	}
	c.CheckClean(t, dir, ids...)
}

func TestLimitStoredAndChecked(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	four := newSemaphore(t, m, dir, 4)
	l, err := four.Acquire(ctx, 1) // stores the limit
	if err != nil {
		t.Fatal(err)
	}
	three := newSemaphore(t, m, dir, 3)
	if _, err := three.Acquire(ctx, 1); !errors.Is(err, recipes.ErrLimitMismatch) {
		t.Fatalf("a peer with another limit: %v", err)
	}
	changer := newSemaphore(t, m, dir, 3, semaphore.WithLimitChange())
	l2, err := changer.Acquire(ctx, 1)
	if err != nil {
		t.Fatalf("explicit limit change: %v", err)
	}
	if _, err := four.Acquire(ctx, 1); !errors.Is(err, recipes.ErrLimitMismatch) {
		t.Fatalf("old limit after the change: %v", err)
	}
	l.Release(ctx)
	l2.Release(ctx)
	c.CheckClean(t, dir, m.Current().SessionID())
}

func TestBadInput(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	for _, max := range []int{0, -1} {
		if _, err := semaphore.New(m, dir, max); !errors.Is(err, recipes.ErrInvalidArgument) {
			t.Errorf("maxLeases %d: %v", max, err)
		}
	}
	if _, err := semaphore.New(nil, dir, 1); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("nil manager: %v", err)
	}
	if _, err := semaphore.New(m, "/bad/", 1); !errors.Is(err, recipes.ErrInvalidPath) {
		t.Errorf("bad path: %v", err)
	}
	sem := newSemaphore(t, m, dir, 3)
	for _, n := range []int{0, -2, 4} {
		if _, err := sem.Acquire(ctx, n); !errors.Is(err, recipes.ErrInvalidArgument) {
			t.Errorf("Acquire(%d): %v", n, err)
		}
	}
	ep, _ := m.Epoch(ctx)
	if ok, _, _ := ep.Exists(ctx, dir); ok {
		t.Fatal("bad input wrote the semaphore's node")
	}
	l, err := sem.Acquire(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Fatalf("second Release: %v", err)
	}
	c.CheckClean(t, dir, m.Current().SessionID())
}

// Status reports the stored limit, and after the limit is lowered under
// holders, the holders above it apart from those within it.
func TestStatusAcrossALoweredLimit(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	three := newSemaphore(t, m, dir, 3, semaphore.WithIdentity("three"))
	l, err := three.Acquire(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	st, err := three.Status(ctx)
	if err != nil || st.Limit != 3 || len(st.Holders) != 3 || len(st.OverLimit) != 0 {
		t.Fatalf("status with 3 of 3 held: %+v %v", st, err)
	}
	one := newSemaphore(t, manager(t, c.Servers(), healthy), dir, 1, semaphore.WithLimitChange(), semaphore.WithIdentity("one"))
	got := make(chan error, 1)
	go func() {
		l1, err := one.Acquire(ctx, 1) // lowers the limit, then waits for all three to go
		if err == nil {
			err = l1.Release(ctx)
		}
		got <- err
	}()
	eventually(t, 10*time.Second, "the lowered limit and the waiting lease", func() bool {
		st, err = three.Status(ctx)
		return err == nil && st.Limit == 1 && len(st.OverLimit) == 3
	})
	if len(st.Holders) != 1 || st.Holders[0].Identity != "three" || st.OverLimit[2].Identity != "one" {
		t.Fatalf("status after lowering the limit: %+v", st)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("acquisition under the lowered limit: %v", err)
	}
	c.CheckClean(t, dir, m.Current().SessionID())
}
