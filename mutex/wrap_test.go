package mutex_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Sequence suffixes past the signed 32-bit wrap, on a real server.
//
// A directory's child counter (its cversion) only reaches 2^31 after 2^31
// child creations and deletions, far too many for a test, and a contender's
// real sequence comes from that counter. So peers' nodes are written here
// with explicit, non-sequential names carrying the suffixes a wrapped
// counter produces, as ephemerals of other sessions (the peers), and the
// recipe's view of the real directory is checked: the holder and the order
// of the waiters, and, as each peer leaves, who holds next.
//
// A real waiter's own node gets a small sequence from the real counter. It
// is ordered behind wrapped peers only where that is creation order, which
// a real directory can show: a counter run past -1 on to 0 (the second
// wrap). That case checks that the waiter waits for the negative-suffixed
// peers in creation order (Curator and kazoo sort "-000000001" before
// "-000000002") and acquires only once both are gone. Next to suffixes just
// past the first wrap (-2147483648) a small sequence would be 2^31 counter
// steps away, which no real directory can hold at once.
func TestWrappedSuffixesOnServer(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ensureDir := func(t *testing.T, ep *session.Epoch, d string) {
		t.Helper()
		// Ancestors may be empty containers the server reaps at any
		// moment; MakePath walks back up when one vanishes.
		persistent := recipes.NodeSpec{Persistent: true}
		if err := recipes.MakePath(ctx, ep, d, persistent, persistent); err != nil {
			t.Fatalf("creating %s: %v", d, err)
		}
	}

	// Peers join in creation order; each is its own session, so its node is
	// an ephemeral like a real contender's.
	type peer struct {
		name string
		ep   *session.Epoch
	}
	join := func(t *testing.T, dir, suffix, identity string) peer {
		t.Helper()
		pm := manager(t, c.Servers(), healthy)
		pep, err := pm.Epoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		name := recipes.ProtectedPrefix(recipes.NewProtectedID()) + recipes.MarkerLock + suffix
		if _, err := pep.Create(ctx, dir+"/"+name, []byte(identity), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		return peer{name, pep}
	}
	leave := func(t *testing.T, dir string, p peer) {
		t.Helper()
		if err := p.ep.Delete(ctx, dir+"/"+p.name, -1); err != nil {
			t.Fatal(err)
		}
	}
	order := func(t *testing.T, lock *mutex.Mutex) []string {
		t.Helper()
		st, err := lock.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		if st.Holder != nil {
			ids = append(ids, st.Holder.Identity)
		}
		for _, w := range st.Waiters {
			ids = append(ids, w.Identity)
		}
		return ids
	}
	t.Run("first wrap", func(t *testing.T) {
		d := dir + "/first"
		ensureDir(t, ep, d)
		// Created in this order by a counter running through 2^31.
		peers := []peer{
			join(t, d, "2147483646", "before-2"),
			join(t, d, "2147483647", "before-1"),
			join(t, d, "-2147483648", "after+0"),
			join(t, d, "-2147483647", "after+1"),
		}
		lock := newMutex(t, m, d)
		want := []string{"before-2", "before-1", "after+0", "after+1"}
		for len(peers) > 0 {
			if got := order(t, lock); !slices.Equal(got, want) {
				t.Fatalf("queue %q, want %q (creation order)", got, want)
			}
			leave(t, d, peers[0])
			peers, want = peers[1:], want[1:]
		}
		if st, err := lock.Status(ctx); err != nil || st.Holder != nil {
			t.Fatalf("empty queue: %+v %v", st, err)
		}
	})

	t.Run("second wrap, real waiter", func(t *testing.T) {
		d := dir + "/second"
		ensureDir(t, ep, d)
		first := join(t, d, "-000000002", "peer-2")
		second := join(t, d, "-000000001", "peer-1")
		lock := newMutex(t, m, d, mutex.WithIdentity("waiter"))
		if _, err := lock.TryLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
			t.Fatalf("TryLock behind wrapped holders: %v", err)
		}
		got := make(chan error, 1)
		var lease *mutex.Lease
		go func() {
			l, err := lock.Lock(ctx)
			lease = l
			got <- err
		}()
		eventually(t, 10*time.Second, "the waiter queued", func() bool { return len(order(t, lock)) == 3 })
		if q := order(t, lock); !slices.Equal(q, []string{"peer-2", "peer-1", "waiter"}) {
			t.Fatalf("queue %q", q)
		}
		// The first peer leaves: the second holds now, and the waiter,
		// whose predecessor it is, keeps waiting.
		leave(t, d, first)
		if q := order(t, lock); !slices.Equal(q, []string{"peer-1", "waiter"}) {
			t.Fatalf("queue after the first peer left: %q", q)
		}
		select {
		case err := <-got:
			t.Fatalf("the waiter acquired while a wrapped peer held the lock: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		leave(t, d, second)
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the waiter did not acquire once the wrapped peers left")
		}
		if !strings.Contains(lease.Path(), "-lock-") {
			t.Fatalf("lease path %s", lease.Path())
		}
		if err := lease.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	})
	ep.Delete(ctx, dir+"/first", -1)
	ep.Delete(ctx, dir+"/second", -1)
	ep.Delete(ctx, dir, -1)
	c.CheckClean(t, dir)
}
