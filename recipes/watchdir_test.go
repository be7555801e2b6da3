package recipes

import (
	"context"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/zktest"
)

// An observer of a directory that does not exist yet hears when it is
// created, however deep below the nearest existing ancestor, and then
// watches the directory itself.
func TestChildrenWFollowsTheDirectoryBackIntoBeing(t *testing.T) {
	c := zktest.Shared(t)
	m := manager(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root := "/zkcoord-test/watchdir"
	dir := root + "/a/b"
	children, w, err := ChildrenW(ctx, ep, dir)
	if err != nil || children != nil || w == nil {
		t.Fatalf("absent directory: %v %v %v", children, w, err)
	}
	acl := zk.WorldACL(zk.PermAll)
	// "/zkcoord-test" may be an empty container that the server reaps at
	// any moment; MakePath walks back up when an ancestor vanishes.
	persistent := NodeSpec{Persistent: true}
	if err := MakePath(ctx, ep, dir, persistent, persistent); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, p := range []string{dir + "/x", dir, root + "/a", root} {
			ep.Delete(context.Background(), p, -1)
		}
	}()
	select {
	case <-w:
	case <-time.After(10 * time.Second):
		t.Fatal("no event while the path to the directory was created")
	}
	children, w, err = ChildrenW(ctx, ep, dir)
	if err != nil || len(children) != 0 || w == nil {
		t.Fatalf("the directory, once created: %v %v", children, err)
	}
	if _, err := ep.Create(ctx, dir+"/x", nil, zk.FlagPersistent, acl); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w:
		if ev.Type != zk.EventNodeChildrenChanged || ev.Path != dir {
			t.Fatalf("event %v on %s", ev.Type, ev.Path)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event for a child of the directory")
	}
}
