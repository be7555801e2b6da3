package mutex_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

func managerWithAuth(t *testing.T, c *zktest.Cluster, secret string) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers: c.Servers(), SessionTimeout: healthy, Logger: testutil.Logger(),
		Auth: []session.Auth{{Scheme: "digest", Secret: []byte(secret)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Lock nodes created with an ACL cannot be deleted or overwritten by a
// client with other credentials, so it can neither steal nor break the
// lock; a client without credentials can still see who holds it when the
// ACL lets the world read.
func TestACLProtectsLockNodes(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	acl := append(zk.DigestACL(zk.PermAll, "deployer", "pw"), zk.WorldACL(zk.PermRead)...)
	owner := managerWithAuth(t, c, "deployer:pw")
	lock := newMutex(t, owner, dir, mutex.WithACL(acl), mutex.WithIdentity("deploy-bot"))
	l, err := lock.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	intruder := managerWithAuth(t, c, "mallory:guess")
	iep, _ := intruder.Epoch(ctx)
	if err := iep.Delete(ctx, l.Path(), -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("intruder deleted the lock node: %v", err)
	}
	if _, err := iep.Set(ctx, l.Path(), []byte("mine"), -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("intruder overwrote the lock node: %v", err)
	}
	if _, err := newMutex(t, intruder, dir).TryLock(ctx); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("intruder joined the queue: %v", err)
	}
	if l.Err() != nil {
		t.Fatalf("lease ended: %v", l.Err())
	}
	observer := manager(t, c.Servers(), healthy)
	st, err := newMutex(t, observer, dir).Status(ctx)
	if err != nil || st.Holder == nil || st.Holder.Identity != "deploy-bot" {
		t.Fatalf("observer without credentials: %+v %v", st, err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	// Only the recipe's own directory carries its ACL; its ancestors,
	// which other applications may share, were created open.
	ep, _ := owner.Epoch(ctx)
	if acl, _, err := ep.GetACL(ctx, dir[:strings.LastIndexByte(dir, '/')]); err != nil || len(acl) != 1 || acl[0].Scheme != "world" {
		t.Fatalf("ancestor ACL %+v %v, want open", acl, err)
	}
	c.CheckClean(t, dir)
}

func TestEdgeInputs(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)

	// Identity data over ZooKeeper's packet limit: refused before any write.
	if _, err := mutex.New(m, dir, mutex.WithIdentity(strings.Repeat("x", 2<<20))); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Fatalf("2 MiB identity: %v", err)
	}
	ep, _ := m.Epoch(ctx)
	if ok, _, _ := ep.Exists(ctx, dir); ok {
		t.Fatal("a refused mutex wrote its directory")
	}

	// A lock path that is someone's ordinary node, with data and unrelated
	// children: the foreign children are ignored, nothing of theirs is lost.
	foreign := "/" + strings.ReplaceAll(dir[1:], "/", "_") + "-occupied"
	if _, err := ep.Create(ctx, foreign, []byte("app config"), zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.Create(ctx, foreign+"/settings", []byte("x"), zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	l, err := newMutex(t, m, foreign).Lock(ctx)
	if err != nil {
		t.Fatalf("lock on an occupied path: %v", err)
	}
	l.Unlock(ctx)
	data, _, err := ep.Get(ctx, foreign)
	if err != nil || string(data) != "app config" {
		t.Fatalf("the node's data changed: %q %v", data, err)
	}
	if ok, _, _ := ep.Exists(ctx, foreign+"/settings"); !ok {
		t.Fatal("a foreign child was removed")
	}
	ep.Delete(ctx, foreign+"/settings", -1)
	ep.Delete(ctx, foreign, -1)

	// An ephemeral node cannot hold contenders: a path error, not a retry.
	eph := foreign + "-ephemeral"
	if _, err := ep.Create(ctx, eph, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := newMutex(t, m, eph).Lock(ctx); !errors.Is(err, recipes.ErrInvalidPath) {
		t.Fatalf("lock under an ephemeral node: %v", err)
	}
	ep.Delete(ctx, eph, -1)
}

// An ACL that does not let the creator delete its own node is refused up
// front: a waiter that gave up could not delete its node, which would head
// the queue one day with nobody to release it.
func TestACLWithoutDeleteRefused(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), healthy)
	for _, acl := range [][]zk.ACL{
		zk.WorldACL(zk.PermAll &^ zk.PermDelete),
		append(zk.DigestACL(zk.PermCreate|zk.PermRead, "deployer", "pw"), zk.WorldACL(zk.PermDelete|zk.PermRead)...),
		{},
	} {
		if _, err := mutex.New(m, dir, mutex.WithACL(acl)); !errors.Is(err, recipes.ErrInvalidArgument) {
			t.Errorf("ACL %v: %v, want ErrInvalidArgument", acl, err)
		}
	}
	if _, err := mutex.New(m, dir, mutex.WithACL(zk.DigestACL(zk.PermCreate|zk.PermDelete|zk.PermRead, "deployer", "pw"))); err != nil {
		t.Errorf("an ACL granting create and delete together: %v", err)
	}
}
