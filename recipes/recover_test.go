package recipes

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

func manager(t *testing.T, c *zktest.Cluster) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: c.Servers(), SessionTimeout: 8 * time.Second, Logger: testutil.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// A node carrying our protected id but owned by another session (an
// earlier epoch's, not yet expired) must be deleted, never adopted: it would
// vanish with that session while we believed we held the lock.
func TestRecoverDeletesNodeOfAnotherSession(t *testing.T) {
	c := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	old, current := manager(t, c), manager(t, c)
	q, err := NewQueue(current, "/zkcoord-test/recipes/recover", nil, MarkerLock)
	if err != nil {
		t.Fatal(err)
	}
	oldEp, _ := old.Epoch(ctx)
	ep, _ := current.Epoch(ctx)
	if err := q.ensureDir(ctx, ep); err != nil {
		t.Fatal(err)
	}
	id := NewProtectedID()
	stale, err := oldEp.Create(ctx, Join(q.dir, ProtectedPrefix(id)+MarkerLock), nil, zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	n, err := q.recover(ctx, ep, id)
	if err != nil || n != nil {
		t.Fatalf("recover adopted %v (err %v); want nothing", n, err)
	}
	if ok, _, _ := ep.Exists(ctx, stale); ok {
		t.Fatal("the other session's node was left in the queue")
	}
	// Our own node is found and adopted. The directory, a container emptied
	// by the deletion above, may have been reaped meanwhile: make it again.
	mine, err := ep.Create(ctx, Join(q.dir, ProtectedPrefix(id)+MarkerLock), nil, zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll))
	for errors.Is(err, zk.ErrNoNode) {
		if err := q.ensureDir(ctx, ep); err != nil {
			t.Fatal(err)
		}
		mine, err = ep.Create(ctx, Join(q.dir, ProtectedPrefix(id)+MarkerLock), nil, zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll))
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err = q.recover(ctx, ep, id)
	if err != nil || n == nil || n.path() != mine {
		t.Fatalf("recover = %v, %v; want %s", n, err, mine)
	}
	n.remove()
	c.CheckClean(t, q.dir, ep.SessionID(), oldEp.SessionID())
}
