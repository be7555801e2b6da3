package semaphore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/zktest"
)

// The limit outlives idleness: after every permit is returned and the
// server has reaped the semaphore's empty directories, a peer that starts
// with another limit (the next version of a rolling deploy) is still told
// that it disagrees.
func TestLimitOutlivesIdleness(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	l, err := newSemaphore(t, m, dir, 3).Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	ep, _ := m.Epoch(ctx)
	// The test servers check containers every 100 ms.
	eventually(t, 30*time.Second, "idle directories reaped", func() bool {
		locks, _, err1 := ep.Exists(ctx, dir+"/locks")
		leases, _, err2 := ep.Exists(ctx, dir+"/leases")
		return err1 == nil && err2 == nil && !locks && !leases
	})
	next := newSemaphore(t, manager(t, c.Servers(), healthy), dir, 2)
	if _, err := next.Acquire(ctx, 1); !errors.Is(err, recipes.ErrLimitMismatch) {
		t.Fatalf("a peer with another limit after an idle spell: %v", err)
	}
	ep.Delete(ctx, dir, -1)
}

// The semaphore's node, which stores the limit, carries the recipe's ACL:
// a client without the credentials cannot change the limit.
func TestLimitNodeTakesTheACL(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	acl := append(zk.DigestACL(zk.PermAll, "ops", "pw"), zk.WorldACL(zk.PermRead)...)
	owner := managerWithAuth(t, c, "ops:pw")
	l, err := newSemaphore(t, owner, dir, 2, semaphore.WithACL(acl)).Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	ep, _ := owner.Epoch(ctx)
	got, _, err := ep.GetACL(ctx, dir)
	if err != nil || len(got) != len(acl) || got[0].Scheme != "digest" || got[1].Perms != zk.PermRead {
		t.Fatalf("the limit's node has ACL %+v (%v), want %+v", got, err, acl)
	}
	intruder := manager(t, c.Servers(), healthy)
	iep, _ := intruder.Epoch(ctx)
	if _, err := iep.Set(ctx, dir, []byte("100"), -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("a client without credentials set the limit: %v", err)
	}
	if _, err := newSemaphore(t, intruder, dir, 100, semaphore.WithLimitChange()).Acquire(ctx, 1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("a client without credentials changed the limit through the recipe: %v", err)
	}
}
