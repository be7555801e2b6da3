package mutex_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Eight clients, each with its own session, take the lock 200 times each
// and increment a counter kept in a znode with a version check: a second
// holder would make a version check fail or an increment vanish.
func TestMutualExclusion(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	const clients, rounds = 8, 200
	counter := "/" + strings.ReplaceAll(dir[1:], "/", "_") + "-counter"
	admin := manager(t, c.Servers(), healthy)
	ctx := within(t, 5*time.Minute)
	ep, _ := admin.Epoch(ctx)
	if _, err := ep.Create(ctx, counter, []byte("0"), zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	defer ep.Delete(context.Background(), counter, -1)

	var (
		inside    atomic.Int32
		overlaps  atomic.Int32
		conflicts atomic.Int32
		mu        sync.Mutex
		tokens    = map[int]int64{} // counter value written -> token of its writer
	)
	managers := make([]*session.Manager, clients)
	var wg sync.WaitGroup
	for i := range clients {
		managers[i] = manager(t, c.Servers(), healthy)
		lock := newMutex(t, managers[i], dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				l, err := lock.Lock(ctx)
				if err != nil {
					t.Errorf("Lock: %v", err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				ep, _ := managers[i].Epoch(ctx)
				data, stat, err := ep.Get(ctx, counter)
				if err != nil {
					t.Errorf("get: %v", err)
				}
				n, _ := strconv.Atoi(string(data))
				if _, err := ep.Set(ctx, counter, []byte(strconv.Itoa(n+1)), stat.Version); err != nil {
					conflicts.Add(1)
				} else {
					mu.Lock()
					tokens[n+1] = l.Token()
					mu.Unlock()
				}
				inside.Add(-1)
				if err := l.Unlock(ctx); err != nil {
					t.Errorf("Unlock: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	data, _, err := ep.Get(ctx, counter)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); got != strconv.Itoa(clients*rounds) || overlaps.Load() != 0 || conflicts.Load() != 0 {
		t.Fatalf("counter %s of %d, %d overlapping holds, %d version conflicts", got, clients*rounds, overlaps.Load(), conflicts.Load())
	}
	for v := 2; v <= clients*rounds; v++ {
		if tokens[v] <= tokens[v-1] {
			t.Fatalf("token of holder %d (%d) not above holder %d's (%d)", v, tokens[v], v-1, tokens[v-1])
		}
	}
	clean(t, c, dir, append(managers, admin)...)
}

// Waiters acquire in the order their nodes were created.
func TestFIFO(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), healthy)
	ctx := within(t, time.Minute)
	lock := newMutex(t, m, dir)
	first, err := lock.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const waiters = 10
	order := make(chan int, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		// Each waiter has its own session, as in a fleet.
		wm := manager(t, c.Servers(), healthy)
		wl := newMutex(t, wm, dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := wl.Lock(ctx)
			if err != nil {
				t.Errorf("waiter %d: %v", i, err)
				return
			}
			order <- i
			l.Unlock(ctx)
		}()
		eventually(t, 10*time.Second, "waiter queued", func() bool {
			st, err := lock.Status(ctx)
			return err == nil && len(st.Waiters) == i+1
		})
	}
	if err := first.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("waiter %d acquired in place %d", got, want)
		}
		want++
	}
	clean(t, c, dir, m)
}

func TestTryLock(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	a := newMutex(t, manager(t, c.Servers(), healthy), dir)
	b := newMutex(t, manager(t, c.Servers(), healthy), dir)
	l, err := a.TryLock(ctx)
	if err != nil {
		t.Fatalf("TryLock on a free lock: %v", err)
	}
	if _, err := b.TryLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
		t.Fatalf("TryLock on a held lock: %v", err)
	}
	st, err := a.Status(ctx)
	if err != nil || st.Holder == nil || len(st.Waiters) != 0 {
		t.Fatalf("a failed TryLock left a node: %+v %v", st, err)
	}
	l.Unlock(ctx)
	c.CheckClean(t, dir)
}

func TestStatusNamesHolderAndWaiters(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	holder := newMutex(t, m, dir, mutex.WithIdentity("payments-1"))
	waiter := newMutex(t, m, dir, mutex.WithIdentity("payments-2"))
	before := time.Now().Add(-time.Minute)
	l, err := holder.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := waiter.Lock(wctx)
		done <- err
	}()
	var st mutex.Status
	eventually(t, 10*time.Second, "waiter visible", func() bool {
		st, err = holder.Status(ctx)
		return err == nil && len(st.Waiters) == 1
	})
	if st.Holder.Identity != "payments-1" || st.Waiters[0].Identity != "payments-2" {
		t.Fatalf("holder %q waiter %q", st.Holder.Identity, st.Waiters[0].Identity)
	}
	if st.Holder.Since.Before(before) || st.Holder.Session != m.Current().SessionID() || st.Holder.Zxid > l.Token() {
		t.Fatalf("holder details wrong: %+v (token %d)", st.Holder, l.Token())
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	l.Unlock(ctx)
	if st, err := holder.Status(ctx); err != nil || st.Holder != nil {
		t.Fatalf("status of a free lock: %+v %v", st, err)
	}
	clean(t, c, dir, m)
}

// Tokens grow across holders, across the loss of a session, and when the
// lock's directory is deleted and created again.
func TestTokensIncrease(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	link := c.NewLink()
	defer link.Close()
	fragile := manager(t, link.Servers(), short)
	steady := manager(t, c.Servers(), healthy)
	a := newMutex(t, fragile, dir)
	b := newMutex(t, steady, dir)

	l1, err := a.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The holder's session is lost while it holds the lock.
	link.Cut()
	<-l1.Done()
	if !errors.Is(l1.Err(), recipes.ErrLost) {
		t.Fatalf("lease cause after partition: %v", l1.Err())
	}
	l2, err := b.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Token() <= l1.Token() {
		t.Fatalf("token after expiry %d <= %d", l2.Token(), l1.Token())
	}
	link.Heal()
	l2.Unlock(ctx)

	ep, _ := steady.Epoch(ctx)
	if err := ep.Delete(ctx, dir, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		t.Fatal(err)
	}
	l3, err := b.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l3.Token() <= l2.Token() {
		t.Fatalf("token after the directory was recreated %d <= %d", l3.Token(), l2.Token())
	}
	l3.Unlock(ctx)
	clean(t, c, dir, steady)
}

// A holder cut off from the ensemble learns it lost the lock before the
// next contender acquires it, every time.
func TestLossSignalPrecedesTakeover(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	link := c.NewLink()
	defer link.Close()
	fragile := manager(t, link.Servers(), short)
	steady := manager(t, c.Servers(), healthy)
	a := newMutex(t, fragile, dir)
	b := newMutex(t, steady, dir)
	const trials = 5
	var leads []time.Duration
	for trial := range trials {
		la, err := a.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan time.Time, 1)
		go func() {
			lb, err := b.Lock(ctx)
			at := time.Now()
			if err != nil {
				t.Errorf("trial %d: %v", trial, err)
			}
			got <- at
			if lb != nil {
				lb.Unlock(ctx)
			}
		}()
		eventually(t, 10*time.Second, "b queued", func() bool {
			st, err := b.Status(ctx)
			return err == nil && len(st.Waiters) == 1
		})
		if trial%2 == 0 {
			link.Cut()
		} else {
			link.Blackhole()
		}
		var lost, taken time.Time
		select {
		case <-la.Done():
			lost = time.Now()
			taken = <-got
		case taken = <-got:
			t.Fatalf("trial %d: b acquired while a's lease was live", trial)
		}
		if !lost.Before(taken) {
			t.Fatalf("trial %d: loss signalled %v after takeover", trial, lost.Sub(taken))
		}
		leads = append(leads, taken.Sub(lost))
		if err := la.Unlock(ctx); !errors.Is(err, recipes.ErrNotHeld) || !errors.Is(err, recipes.ErrLost) {
			t.Fatalf("Unlock after loss: %v", err)
		}
		link.Heal()
	}
	t.Logf("loss signalled before takeover in %d/%d trials; lead min %v", len(leads), trials, minDur(leads))
	clean(t, c, dir, steady)
}

func minDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

// The create's answer is lost but the create was applied: the contender
// must find its node by its protected id rather than create a second one.
func TestConnectionLostDuringCreate(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	link := c.NewLink()
	defer link.Close()
	m := manager(t, link.Servers(), healthy)
	observer := manager(t, c.Servers(), healthy)
	lock := newMutex(t, m, dir)
	watch := newMutex(t, observer, dir)

	for _, applied := range []bool{true, false} {
		t.Run(fmt.Sprintf("applied=%v", applied), func(t *testing.T) {
			type result struct {
				l   *mutex.Lease
				err error
			}
			res := make(chan result, 1)
			changes := m.Subscribe(ctx)
			if applied {
				// Answers come back slowly: the create reaches the server, and
				// the link is cut while its answer is on the way.
				link.SetLatency(150 * time.Millisecond)
			} else {
				link.Blackhole() // the create never reaches the server
			}
			go func() {
				l, err := lock.Lock(ctx)
				res <- result{l, err}
			}()
			if applied {
				// Every round trip takes a second now, directory creation included.
				eventually(t, 30*time.Second, "create applied", func() bool {
					st, err := watch.Status(ctx)
					return err == nil && st.Holder != nil
				})
				link.Cut()
				link.SetLatency(0)
			} else {
				// The create went into the silent link at once; once the client
				// notices the silence, its outcome is unknown to it.
				for ch := range changes {
					if ch.State == session.Suspended || ch.State == session.Expired {
						break
					}
				}
			}
			link.Heal()
			r := <-res
			if r.err != nil {
				t.Fatalf("Lock: %v", r.err)
			}
			st, err := watch.Status(ctx)
			if err != nil || st.Holder == nil || len(st.Waiters) != 0 {
				t.Fatalf("after recovery: %+v %v (want one node)", st, err)
			}
			if st.Holder.Name != lastSegment(r.l.Path()) {
				t.Fatalf("holder %s is not the lease's node %s", st.Holder.Name, r.l.Path())
			}
			if err := r.l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	clean(t, c, dir, m, observer)
}

func lastSegment(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
