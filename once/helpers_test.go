package once_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/once"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

const (
	healthy = testutil.Healthy
	short   = testutil.Short
)

var (
	manager    = testutil.Manager
	within     = testutil.Within
	eventually = testutil.Eventually
)

func dirFor(t testing.TB) string { return testutil.Dir(t, "once") }

func newOnce(t testing.TB, m *session.Manager, dir string, opts ...once.Option) *once.Once {
	t.Helper()
	o, err := once.New(m, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// clean removes the markers, which are persistent by design, then checks
// that nothing else is left under dir: no contender node, no watch.
func clean(t testing.TB, c *zktest.Cluster, dir string, ms ...*session.Manager) {
	t.Helper()
	removeTree(t, c, dir+"/done")
	testutil.Clean(t, c, dir, ms...)
}

// walk calls f on every node under root, children before their parent.
func walk(ctx context.Context, ep *session.Epoch, root string, f func(p string) error) error {
	children, _, err := ep.Children(ctx, root)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ch := range children {
		if err := walk(ctx, ep, root+"/"+ch, f); err != nil {
			return err
		}
	}
	return f(root)
}

func removeTree(t testing.TB, c *zktest.Cluster, root string) {
	t.Helper()
	m := manager(t, c.Servers(), healthy)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = walk(ctx, ep, root, func(p string) error {
		if err := ep.Delete(ctx, p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("removing %s: %v", root, err)
	}
}

// countNodes counts root and everything under it.
func countNodes(t testing.TB, m *session.Manager, root string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodes := 0
	if err := walk(ctx, ep, root, func(string) error { nodes++; return nil }); err != nil {
		t.Fatal(err)
	}
	return nodes
}
