package recipes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// The handoff: a waiter takes over on its predecessor's deletion alone,
// with no read after it, whenever the deletion is enough to decide. It is
// enough when the rule grants us with the predecessor gone and everything
// else as listed (contenders only leave, and a rule never takes a grant
// back when one ahead leaves: the fast path grants nothing a listing would
// refuse), or when the predecessor is known to head the queue and the rule
// grants us with it and everything ahead of it gone.
//
// A predecessor heads the queue when it was first in our listing, or when
// it is marked. A holder marks its node (a setData of the same bytes,
// version 0 to 1) only when it heads the queue; contenders are only ever
// added at the tail (sequence numbers grow), so a node that once headed the
// queue heads it until it is deleted: a marked node is the head. Nothing
// else writes a contender's data (Curator and kazoo never do), so a data
// change on a watched predecessor is its mark.
//
// The rest of the grant is known locally. Our node still exists: we watch
// it, and ZooKeeper sends a session's notifications and replies in the
// order of the transactions behind them, so its deletion would reach us
// before our predecessor's. Our epoch is alive: the session's deadline is
// checked. The token is our node's czxid, given by the create's reply.
//
// Marking is for locks only (Queue.MarkHolders): Curator's LeaderLatch
// renews its watch on its predecessor only on deletion, and would stall on
// a mark. An election's waiter behind the leader still takes over on the
// leader's deletion alone, since the leader was first in its listing.

// markWait bounds how long a holder waits to see its mark sent before the
// lease is handed out: only a connection that is down makes it wait.
const markWait = 100 * time.Millisecond

// handoff is what a wait on one predecessor needs to know, computed from
// the listing so that the listing itself can go.
type handoff struct {
	pred string
	// predGone: the rule grants us once pred alone is gone.
	predGone bool
	// headGone: the rule grants us once pred and all ahead of it are gone.
	headGone bool
	// predIsHead: pred was first in the listing.
	predIsHead bool
	// adjacent: nobody stood between pred and us, so once pred, known to
	// head the queue, is gone, we head it.
	adjacent bool
	// selfBlockable: pred is the last contender that blocks us, for the
	// warning about waiting on our own session's lease.
	selfBlockable bool
	// outer is the contender just ahead of pred, watched in queues whose
	// holders do not mark (elections): its deletion sends us to a listing
	// while pred takes over, off our handoff's path, and the listing shows
	// pred at the head, so that pred's deletion alone decides our turn.
	outer string
}

// grantedWithoutLimit bounds the queue copied to ask the rule about pred
// alone leaving, past the head: a deep waiter learns of its turn through
// marks and the head's deletion instead.
const grantedWithoutLimit = 64

func newHandoff(rule Rule, queue []Contender, self int, pred string) handoff {
	h := handoff{pred: pred}
	p := -1
	for i := range self {
		if queue[i].Name == pred {
			p = i
			break
		}
	}
	if p < 0 {
		return h
	}
	h.predIsHead = p == 0
	h.adjacent = p == self-1
	h.headGone = rule(queue[p+1:], self-p-1).Acquired
	switch {
	case p == 0:
		h.predGone = h.headGone
	case self <= grantedWithoutLimit:
		rest := make([]Contender, 0, len(queue)-1)
		rest = append(append(rest, queue[:p]...), queue[p+1:]...)
		h.predGone = rule(rest, self-1).Acquired
	}
	h.selfBlockable = h.predGone
	if p > 0 && h.adjacent && h.headGone {
		h.outer = queue[p-1].Name
	}
	return h
}

// waitFor waits on h.pred. It returns a lease when the handoff grants us,
// an error that ends the acquisition, or neither when a fresh listing must
// decide.
func (n *node) waitFor(ctx context.Context, h handoff, resumed <-chan struct{}, sb *selfBlock) (*Lease, error) {
	if h.predGone || h.headGone {
		if err := n.watchOwn(ctx); err != nil {
			if errors.Is(err, session.ErrConnectionLoss) {
				return nil, nil
			}
			return nil, n.ctxError(ctx, err)
		}
	}
	var outerGone <-chan zk.Event
	if h.outer != "" && !n.q.marks {
		_, _, ch, err := n.ep.GetW(ctx, Join(n.q.dir, h.outer))
		switch {
		case errors.Is(err, zk.ErrNoNode), errors.Is(err, session.ErrConnectionLoss):
			return nil, nil // gone already: pred may head the queue now
		case err != nil:
			return nil, n.ctxError(ctx, err)
		}
		outerGone = ch
	}
	path := Join(n.q.dir, h.pred)
	marked := false
	// gone decides once pred is gone: a grant, or a listing.
	gone := func() (*Lease, error) {
		head := h.predIsHead || marked
		if !h.predGone && !(head && h.headGone) {
			return nil, nil
		}
		return n.grant(ctx, head && h.adjacent)
	}
	for {
		_, stat, changed, err := n.ep.GetW(ctx, path)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return gone()
		case errors.Is(err, session.ErrConnectionLoss):
			return nil, nil
		case err != nil:
			return nil, n.ctxError(ctx, err)
		}
		marked = marked || (n.q.marks && stat.Version > 0)
		if h.selfBlockable && stat.EphemeralOwner == n.ep.SessionID() {
			sb.watch(n, h.pred)
		} else {
			sb.stop()
		}
		select {
		case ev := <-changed:
			switch ev.Type {
			case zk.EventNodeDeleted:
				return gone()
			case zk.EventNodeDataChanged:
				// Its mark: watch again, for the deletion (which may be
				// done already: then the read answers ErrNoNode).
				marked = marked || n.q.marks
				continue
			}
			return nil, nil
		case <-outerGone:
			return nil, nil // a listing says whether pred heads the queue now
		case <-resumed: // the watch may not have survived the reconnect
			return nil, nil
		case <-ctx.Done():
			return nil, n.q.waitError(ctx.Err(), n.start, n.ahead)
		case <-n.ep.Done():
			return nil, lost(n.ep.Err())
		}
	}
}

// watchOwn leaves a watch on our own node, once per node, and checks on the
// way that it belongs to our epoch's session.
func (n *node) watchOwn(ctx context.Context) error {
	if n.own != nil {
		return nil
	}
	_, st, ch, err := n.ep.GetW(ctx, n.path())
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return lost(fmt.Errorf("contender node %s deleted", n.path()))
	case err != nil:
		return err
	case st.EphemeralOwner != n.ep.SessionID():
		return lost(fmt.Errorf("contender node %s owned by session 0x%x", n.path(), st.EphemeralOwner))
	}
	if n.czx == 0 {
		n.czx = st.Czxid
	}
	n.own = ch
	return nil
}

// grant is the end of a handoff that the watch decided: our node has had no
// event, so it existed when our predecessor's deletion was sent; the epoch
// must be alive now.
func (n *node) grant(ctx context.Context, head bool) (*Lease, error) {
	select {
	case <-n.own:
		n.own = nil
		return nil, nil // something happened to our node: a listing says what
	default:
	}
	token := n.czx
	if token == 0 && !n.q.noTokens {
		var err error
		if token, err = n.token(ctx); err != nil {
			if errors.Is(err, ErrLost) {
				return nil, err
			}
			return nil, nil
		}
	}
	if err := n.ep.Check(); err != nil {
		return nil, lost(err)
	}
	n.ahead = 0
	return n.hold(token, 0, head), nil
}
