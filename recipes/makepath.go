package recipes

import (
	"context"
	"errors"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// NodeSpec says how MakePath creates a node.
type NodeSpec struct {
	// Persistent makes a persistent node; otherwise a container, which the
	// server deletes once empty (a persistent node where the server predates
	// containers).
	Persistent bool
	ACL        []zk.ACL // nil: open to all
	Data       []byte
}

// MakePath creates path as leaf says, and its missing ancestors as
// ancestors says, in ep. It tries path itself first (its parent usually
// exists), and walks up only when the parent is missing. A node that
// exists already is left as it is. An ancestor the server reaps while we
// create beneath it, or a create whose outcome a lost connection hid, sends
// the walk back to the top: every create is safe to repeat.
func MakePath(ctx context.Context, ep *session.Epoch, path string, leaf, ancestors NodeSpec) error {
	for {
		err := makeNode(ctx, ep, path, leaf)
		if errors.Is(err, zk.ErrNoNode) {
			err = makeAncestors(ctx, ep, Parent(path), ancestors)
			if err == nil {
				err = makeNode(ctx, ep, path, leaf)
			}
		}
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, session.ErrConnectionLoss):
			return SessionError(err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// makeAncestors creates dir and the ancestors missing above it, from the
// deepest that exists down.
func makeAncestors(ctx context.Context, ep *session.Epoch, dir string, spec NodeSpec) error {
	var missing []string
	for p := dir; p != "/"; p = Parent(p) {
		ok, _, err := ep.Exists(ctx, p)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := makeNode(ctx, ep, missing[i], spec); err != nil {
			return err
		}
	}
	return nil
}

// makeNode creates one node; ErrNodeExists is success.
func makeNode(ctx context.Context, ep *session.Epoch, path string, spec NodeSpec) error {
	acl := spec.ACL
	if acl == nil {
		acl = zk.WorldACL(zk.PermAll)
	}
	var err error
	if !spec.Persistent {
		_, err = ep.CreateContainer(ctx, path, spec.Data, acl)
	}
	if spec.Persistent || errors.Is(err, zk.ErrUnknown) || errors.Is(err, zk.ErrAPIError) {
		_, err = ep.Create(ctx, path, spec.Data, zk.FlagPersistent, acl)
	}
	if errors.Is(err, zk.ErrNodeExists) {
		return nil
	}
	return err
}
