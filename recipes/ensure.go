package recipes

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// EnsurePath creates path and its missing ancestors as persistent nodes,
// as kazoo's ensure_path does, and succeeds when they exist already, even
// when another client creates them at the same moment. acl goes on every
// node it creates (nil: open to all, zk.WorldACL(zk.PermAll)); existing
// nodes keep theirs.
//
// Persistent, not container, nodes: a path ensured ahead of use is meant
// to stay, and the server deletes an empty container at any time. The path
// is checked with ValidatePath first (a *PathError otherwise); errors from
// the session come back through SessionError.
func EnsurePath(ctx context.Context, m *session.Manager, path string, acl []zk.ACL) error {
	if m == nil {
		return fmt.Errorf("%w: nil session manager", ErrInvalidArgument)
	}
	if err := ValidatePath(path); err != nil {
		return err
	}
	if acl == nil {
		acl = zk.WorldACL(zk.PermAll)
	}
	spec := NodeSpec{Persistent: true, ACL: acl}
	for {
		ep, err := m.Epoch(ctx)
		if err != nil {
			return SessionError(err)
		}
		// Reading first keeps an existing path to a read, which any server
		// answers and which needs no create permission on its parent.
		ok, _, err := ep.Exists(ctx, path)
		if err == nil && ok {
			return nil
		}
		if err == nil {
			err = MakePath(ctx, ep, path, spec, spec)
		}
		if errors.Is(err, session.ErrConnectionLoss) && ctx.Err() == nil {
			continue
		}
		return SessionError(err)
	}
}
