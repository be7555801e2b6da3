package interop_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// fixture is one test's corner of the shared ensemble:
//
//	<root>/lock       the recipe's directory, shared by every peer
//	<root>/cs/...     what the critical section checks exclusion with:
//	                  log, readers/, holders/ (and excl while held)
type fixture struct {
	t    *testing.T
	c    *zktest.Cluster
	m    *session.Manager // the test's own session: setup, inspection, checks
	ctx  context.Context
	root string
	lock string
	cs   string
	// persistentLock: the lock directory was made here, as kazoo needs.
	persistentLock bool
}

// runs numbers the fixtures of one test binary: each gets a root of its
// own, even when -count runs a test again on the same ensemble.
var runs atomic.Int64

func newFixture(t *testing.T, c *zktest.Cluster) *fixture {
	t.Helper()
	root := fmt.Sprintf("/zkcoord-test/interop/%s-%d", strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()), runs.Add(1))
	fx := &fixture{
		t: t, c: c, m: manager(t, c, "observer"), ctx: within(t, 5*step),
		root: root, lock: root + "/lock", cs: root + "/cs",
	}
	for _, p := range []string{fx.cs, fx.cs + "/readers", fx.cs + "/holders", fx.cs + "/log"} {
		fx.create(p, zk.FlagPersistent)
	}
	return fx
}

// persistLock makes the lock directory a persistent node before any peer
// does. kazoo needs it: its Lock checks the directory once (ensure_path)
// and then creates its node without creating parents, so once zkcoord or
// Curator has made the directory a container, the server may delete it
// whenever it is empty, and kazoo's next acquisition fails with NoNodeError.
func (fx *fixture) persistLock() {
	fx.create(fx.lock, zk.FlagPersistent)
	fx.persistentLock = true
}

func (fx *fixture) epoch() *session.Epoch {
	fx.t.Helper()
	ep, err := fx.m.Epoch(fx.ctx)
	if err != nil {
		fx.t.Fatal(err)
	}
	return ep
}

// create makes p with flags, its missing ancestors as containers (the
// server deletes them once empty, as the recipes' directories). A
// container ancestor left empty by an earlier run may be deleted while
// we create under it: then start again.
func (fx *fixture) create(p string, flags int32) {
	fx.t.Helper()
	ep := fx.epoch()
	acl := zk.WorldACL(zk.PermAll)
	for {
		_, err := ep.Create(fx.ctx, p, []byte{}, flags, acl)
		if err == nil {
			return
		}
		if !errors.Is(err, zk.ErrNoNode) {
			fx.t.Fatalf("creating %s: %v", p, err)
		}
		var missing []string
		for a := p[:strings.LastIndex(p, "/")]; a != ""; a = a[:strings.LastIndex(a, "/")] {
			missing = append(missing, a)
		}
		slices.Reverse(missing)
		for _, a := range missing {
			if _, err := ep.CreateContainer(fx.ctx, a, nil, acl); err != nil &&
				!errors.Is(err, zk.ErrNodeExists) && !errors.Is(err, zk.ErrNoNode) {
				fx.t.Fatalf("creating %s: %v", a, err)
			}
		}
	}
}

// log returns the names the critical sections appended, in order.
func (fx *fixture) log() []string {
	fx.t.Helper()
	ep := fx.epoch()
	if err := ep.Sync(fx.ctx, fx.cs+"/log"); err != nil {
		fx.t.Fatal(err)
	}
	b, _, err := ep.Get(fx.ctx, fx.cs+"/log")
	if err != nil {
		fx.t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// finish checks, once every peer has released all it held, that nothing
// is left: it deletes what newFixture made (which fails if a critical
// section left a node behind) and the lock directory if it made it (which
// fails if a contender node is left), then has zktest check that nothing
// but empty containers remains under the root and that none of sessions
// (the zkcoord ones) watches anything there.
func (fx *fixture) finish(sessions ...int64) {
	fx.t.Helper()
	ep := fx.epoch()
	del := []string{fx.cs + "/log", fx.cs + "/readers", fx.cs + "/holders", fx.cs}
	if fx.persistentLock {
		del = append(del, fx.lock)
	}
	for _, p := range del {
		err := ep.Delete(fx.ctx, p, -1)
		if errors.Is(err, zk.ErrNotEmpty) {
			children, _, _ := ep.Children(fx.ctx, p)
			fx.t.Errorf("left behind in %s: %v", p, children)
			continue
		}
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			fx.t.Errorf("deleting %s: %v", p, err)
		}
	}
	fx.c.CheckClean(fx.t, fx.root, append(sessions, ep.SessionID())...)
}

// names returns each participant's identity, the node data a peer wrote.
func names[P any](ps []P, identity func(P) string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = identity(p)
	}
	return out
}
