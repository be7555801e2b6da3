package recipes

import (
	"context"
	"errors"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// discard deletes our node without holding the caller past ctx: the delete
// goes on in the background if ctx ends first. done reports whether it
// finished in time; err is a failure that repeating cannot cure (the ACL
// denies us delete), the one case where the node outlives our interest.
//
// The background goroutine ends with the delete, at the latest when the
// epoch ends (every request returns then, and the epoch's end deletes the
// node anyway), so nothing outlives the manager's Close.
func (n *node) discard(ctx context.Context) (done bool, err error) {
	if ctx.Done() == nil {
		return true, n.remove()
	}
	res := make(chan error, 1)
	go func() { res <- n.remove() }()
	select {
	case err := <-res:
		return true, err
	case <-ctx.Done():
		return false, nil
	}
}

// remove deletes our node, waiting through a disconnection if it must.
// It gives up when the epoch ends, which deletes the node anyway.
func (n *node) remove() error {
	ctx := context.Background()
	for {
		err := n.ep.Delete(ctx, n.path(), -1)
		switch {
		case err == nil, errors.Is(err, zk.ErrNoNode):
			return nil
		case n.ep.Check() != nil:
			return nil // the session is over, or about to be, and its nodes with it
		case errors.Is(err, session.ErrConnectionLoss):
			continue
		}
		return SessionError(err)
	}
}
