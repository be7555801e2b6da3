package recipes

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// ChildrenW lists dir and leaves a watch that fires when its children
// change. While dir does not exist (a container the server reaped, or a
// recipe nobody has used yet), children is nil and the watch is on the
// children of dir's nearest existing ancestor, which change as the path
// to dir is created again: an exists watch would do, but a watch on a
// missing node is one that stays behind on the server if it never fires.
// Observers that follow a recipe without taking part use it.
func ChildrenW(ctx context.Context, ep *session.Epoch, dir string) (children []string, watch <-chan zk.Event, err error) {
	for p := dir; ; {
		children, _, w, err := ep.ChildrenW(ctx, p)
		switch {
		case err == nil && p == dir:
			return children, w, nil
		case err == nil:
			if slices.Contains(children, stepToward(p, dir)) {
				p = dir // the path grew back while we climbed: start over
				continue
			}
			return nil, w, nil
		case errors.Is(err, zk.ErrNoNode) && p != "/":
			p = Parent(p)
		default:
			return nil, nil, err
		}
	}
}

// stepToward is the child of ancestor on the way down to p.
func stepToward(ancestor, p string) string {
	rest := strings.TrimPrefix(p, strings.TrimSuffix(ancestor, "/")+"/")
	name, _, _ := strings.Cut(rest, "/")
	return name
}
