package recipes

import (
	"context"
	"errors"
	"fmt"
)

// A lease's fencing token is the czxid of its own node: the zxid of the
// transaction that created it. It is fixed when the node is created, so any
// server that returns our node returns its true czxid, however far behind
// the leader it is. A token read from the directory (its pzxid) instead
// could come from a server that has not yet applied the previous holder's
// deletion, and repeat that holder's token.
//
// Tokens increase from holder to holder because grants follow creation
// order: an exclusive holder's predecessors were all created, so got their
// czxid, before its own node was. Every path to a lease gets the same value:
// the create's reply carries it (session.Epoch.CreateZxid), and where that
// reply was lost (a recovered create) or not matched, a read of our node
// gives it; never a value of another kind, which could order two holders'
// tokens against their turns.

type czxidResult struct {
	czxid int64
	err   error
}

// czxid reads our node's czxid, and checks on the way that the node still
// exists and belongs to our epoch's session.
func (n *node) czxid(ctx context.Context) (int64, error) {
	ok, st, err := n.ep.Exists(ctx, n.path())
	switch {
	case err != nil:
		return 0, SessionError(err)
	case !ok:
		return 0, lost(fmt.Errorf("contender node %s deleted", n.path()))
	case st.EphemeralOwner != n.ep.SessionID():
		return 0, lost(fmt.Errorf("contender node %s owned by session 0x%x", n.path(), st.EphemeralOwner))
	}
	return st.Czxid, nil
}

// fetchCzxid starts reading the czxid, unless it is known already. Its
// goroutine ends when the read does, at the latest when ctx ends.
func (n *node) fetchCzxid(ctx context.Context) {
	if n.czx != 0 || n.early != nil {
		return
	}
	n.early = make(chan czxidResult, 1)
	go func() {
		v, err := n.czxid(ctx)
		n.early <- czxidResult{v, err}
	}()
}

// token is our node's czxid: the early read's answer, or a read of its own
// if that one failed for a reason that says nothing about the node.
func (n *node) token(ctx context.Context) (int64, error) {
	if n.czx != 0 {
		return n.czx, nil
	}
	if n.early != nil {
		r := <-n.early
		n.early = nil
		switch {
		case r.err == nil:
			n.czx = r.czxid
			return n.czx, nil
		case errors.Is(r.err, ErrLost):
			return 0, r.err
		}
	}
	v, err := n.czxid(ctx)
	if err != nil {
		return 0, err // a connection loss: the caller lists again, then asks again
	}
	n.czx = v
	return v, nil
}
