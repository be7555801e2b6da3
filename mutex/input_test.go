package mutex_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

func TestBadInput(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), healthy)
	for _, p := range []string{"", "relative", "/", "/a/", "/a//b", "/a/../b", "/zookeeper/x", "/a\x00b"} {
		if _, err := mutex.New(m, p); !errors.Is(err, recipes.ErrInvalidPath) {
			t.Errorf("New(%q): %v, want ErrInvalidPath", p, err)
		}
	}
	if _, err := mutex.New(nil, dir); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("nil manager: %v", err)
	}

	lock := newMutex(t, m, dir)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lock.Lock(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context: %v", err)
	}

	ctx := within(t, time.Minute)
	l, err := lock.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Errorf("second Unlock: %v", err)
	}
	if !errors.Is(l.Err(), recipes.ErrReleased) {
		t.Errorf("Err after Unlock: %v", l.Err())
	}
	c.CheckClean(t, dir)

	closed := manager(t, c.Servers(), healthy)
	cl := newMutex(t, closed, dir)
	closed.Close()
	if _, err := cl.Lock(ctx); !errors.Is(err, recipes.ErrClosed) {
		t.Errorf("Lock on a closed manager: %v", err)
	}
	c.CheckClean(t, dir)
}

// Someone deletes the holder's node: the lease ends, and guarded writes
// stop taking effect.
func TestGuardAndNodeDeletedByOthers(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	lock := newMutex(t, m, dir)
	l, err := lock.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	state := "/" + strings.ReplaceAll(dir[1:], "/", "_") + "-state"
	if _, err := l.Guard(ctx, &zk.CreateRequest{Path: state, Data: []byte("v1"), Acl: zk.WorldACL(zk.PermAll)}); err != nil {
		t.Fatalf("guarded create while held: %v", err)
	}
	admin := manager(t, c.Servers(), healthy)
	ep, _ := admin.Epoch(ctx)
	defer ep.Delete(context.Background(), state, -1)
	if err := ep.Delete(ctx, l.Path(), -1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("lease not ended by its node's deletion")
	}
	if !errors.Is(l.Err(), recipes.ErrLost) {
		t.Fatalf("cause %v", l.Err())
	}
	if _, err := l.Guard(ctx, &zk.SetDataRequest{Path: state, Data: []byte("v2"), Version: -1}); !errors.Is(err, recipes.ErrNotHeld) {
		t.Fatalf("guarded write after loss: %v", err)
	}
	data, _, _ := ep.Get(ctx, state)
	if string(data) != "v1" {
		t.Fatalf("state changed to %q after the lease was lost", data)
	}
	if err := l.Unlock(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Fatalf("Unlock after loss: %v", err)
	}
	c.CheckClean(t, dir)
}
