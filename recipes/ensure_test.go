package recipes_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

func ExampleEnsurePath() {
	zk, err := zktest.New(zktest.Options{Nodes: 1}) // or your ensemble's addresses
	if err != nil {
		fmt.Println(err)
		return
	}
	defer zk.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: zk.Servers(), SessionTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	// Twice: the second call finds the path there and succeeds.
	for range 2 {
		if err := recipes.EnsurePath(ctx, m, "/myapp/config/feature-flags", nil); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(recipes.EnsurePath(ctx, m, "/myapp//config", nil))
	// Output: zkcoord: invalid path "/myapp//config": empty segment (//) at byte 7
}

// EnsurePath creates every missing node of a path as a persistent node with
// the ACL given, leaves existing nodes as they were, and succeeds again on
// a path that exists, including when clients race to create it.
func TestEnsurePath(t *testing.T) {
	c := zktest.Shared(t)
	m := testutil.Manager(t, c.Servers(), testutil.Healthy)
	ctx := testutil.Within(t, 30*time.Second)
	root := testutil.Dir(t, "ensure")
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteTree(t, c, root) })

	// An existing ancestor with data of its own keeps it.
	if err := recipes.EnsurePath(ctx, m, root, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.Set(ctx, root, []byte("mine"), -1); err != nil {
		t.Fatal(err)
	}
	acl := zk.WorldACL(zk.PermRead | zk.PermWrite | zk.PermCreate | zk.PermDelete)
	deep := root + "/a/b/c"
	if err := recipes.EnsurePath(ctx, m, deep, acl); err != nil {
		t.Fatalf("EnsurePath(%s): %v", deep, err)
	}
	for _, p := range []string{root + "/a", root + "/a/b", deep} {
		got, stat, err := ep.GetACL(ctx, p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if stat.EphemeralOwner != 0 {
			t.Errorf("%s is ephemeral (owner 0x%x), want persistent", p, stat.EphemeralOwner)
		}
		if len(got) != 1 || got[0].Perms != acl[0].Perms {
			t.Errorf("%s has ACL %v, want %v", p, got, acl)
		}
	}
	if data, _, err := ep.Get(ctx, root); err != nil || string(data) != "mine" {
		t.Errorf("existing ancestor's data = %q, %v; want it untouched", data, err)
	}
	if err := recipes.EnsurePath(ctx, m, deep, nil); err != nil {
		t.Errorf("EnsurePath on an existing path: %v", err)
	}

	// Eight clients at once, one path: every call succeeds.
	race := root + "/x/y/z/w"
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		mi := testutil.Manager(t, c.Servers(), testutil.Healthy)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = recipes.EnsurePath(ctx, mi, race, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("racing client %d: %v", i, err)
		}
	}
	if ok, _, err := ep.Exists(ctx, race); err != nil || !ok {
		t.Errorf("%s after the race: exists=%v, %v", race, ok, err)
	}
}

func TestEnsurePathBadInput(t *testing.T) {
	c := zktest.Shared(t)
	m := testutil.Manager(t, c.Servers(), testutil.Healthy)
	ctx := testutil.Within(t, 30*time.Second)
	for _, p := range []string{"", "relative", "/", "/a//b", "/a/", "/zookeeper/x", "/a/\x00"} {
		if err := recipes.EnsurePath(ctx, m, p, nil); !errors.Is(err, recipes.ErrInvalidPath) {
			t.Errorf("EnsurePath(%q) = %v, want ErrInvalidPath", p, err)
		}
	}
	if err := recipes.EnsurePath(ctx, nil, "/a", nil); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("nil manager: %v, want ErrInvalidArgument", err)
	}

	// Under an ephemeral node nothing can be created: the server's
	// refusal comes back, not a loop.
	root := testutil.Dir(t, "ensure")
	t.Cleanup(func() { deleteTree(t, c, root) })
	if err := recipes.EnsurePath(ctx, m, root, nil); err != nil {
		t.Fatal(err)
	}
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eph := root + "/eph"
	if _, err := ep.Create(ctx, eph, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if err := recipes.EnsurePath(ctx, m, eph+"/child", nil); !errors.Is(err, zk.ErrNoChildrenForEphemerals) {
		t.Errorf("under an ephemeral node: %v, want zk.ErrNoChildrenForEphemerals", err)
	}

	// A context that has ended is reported as such.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := recipes.EnsurePath(done, m, root+"/late", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
}

// deleteTree removes root and everything below it, deepest first.
func deleteTree(t *testing.T, c *zktest.Cluster, root string) {
	m := testutil.Manager(t, c.Servers(), testutil.Healthy)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Error(err)
		return
	}
	var walk func(p string)
	walk = func(p string) {
		children, _, err := ep.Children(ctx, p)
		if err != nil {
			return
		}
		for _, ch := range children {
			walk(recipes.Join(p, ch))
		}
		if err := ep.Delete(ctx, p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			t.Errorf("deleting %s: %v", p, err)
		}
	}
	walk(root)
}
