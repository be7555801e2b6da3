package recipes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// Queue is one recipe directory of contender nodes, seen through one
// session manager. Every recipe is a Queue plus a Rule.
type Queue struct {
	m       *session.Manager
	dir     string
	markers []string
	acl     []zk.ACL

	recipe   string
	observer Observer
}

// MaxDataLen bounds a contender node's data. ZooKeeper refuses a packet
// over jute.maxbuffer (1 MiB by default) by dropping the connection, which a
// client cannot tell from a network fault: it would retry forever. The
// margin leaves room for the path and the request's framing.
const MaxDataLen = 1<<20 - 16<<10

// ValidateData returns ErrInvalidArgument for node data over MaxDataLen.
func ValidateData(data []byte) error {
	if len(data) > MaxDataLen {
		return fmt.Errorf("%w: node data of %d bytes exceeds %d (ZooKeeper's jute.maxbuffer)", ErrInvalidArgument, len(data), MaxDataLen)
	}
	return nil
}

// NewQueue checks its arguments and touches nothing on the server.
// markers are the kinds of node counted as contenders; others are ignored.
func NewQueue(m *session.Manager, dir string, acl []zk.ACL, markers ...string) (*Queue, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil session manager", ErrInvalidArgument)
	}
	if err := ValidatePath(dir); err != nil {
		return nil, err
	}
	if len(markers) == 0 {
		return nil, fmt.Errorf("%w: no contender markers", ErrInvalidArgument)
	}
	if acl == nil {
		acl = zk.WorldACL(zk.PermAll)
	}
	return &Queue{m: m, dir: dir, markers: markers, acl: acl}, nil
}

// Dir is the recipe's directory.
func (q *Queue) Dir() string { return q.dir }

// Manager is the session manager the queue works through.
func (q *Queue) Manager() *session.Manager { return q.m }

// Acquire joins the queue as a node of kind marker carrying data and waits
// until rule grants it, ctx ends, or the session's epoch ends. With try, it
// gives up at once (ErrWouldBlock) instead of waiting. Whatever the outcome,
// a node that does not become a lease is deleted before Acquire returns.
func (q *Queue) Acquire(ctx context.Context, marker string, data []byte, rule Rule, try bool) (*Lease, error) {
	if err := ValidateData(data); err != nil {
		return nil, err
	}
	start := time.Now()
	l, err := q.acquire(ctx, marker, data, rule, try)
	if err != nil {
		q.emit(Event{What: Abandoned, Marker: marker, Wait: time.Since(start), Err: err})
		return nil, err
	}
	q.emit(Event{What: Acquired, Marker: marker, Wait: l.acquiredAt.Sub(start), Queue: l.queue})
	return l, nil
}

func (q *Queue) acquire(ctx context.Context, marker string, data []byte, rule Rule, try bool) (*Lease, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ep, err := q.m.Epoch(ctx)
		if err != nil {
			return nil, SessionError(err)
		}
		l, err := q.acquireIn(ctx, ep, marker, data, rule, try)
		// A session that ends while we only wait takes nothing from us but
		// our place in the queue: join again in the next one.
		if err != nil && !try && ep.Err() != nil && errors.Is(err, ErrLost) && ctx.Err() == nil {
			continue
		}
		return l, err
	}
}

func (q *Queue) acquireIn(ctx context.Context, ep *session.Epoch, marker string, data []byte, rule Rule, try bool) (*Lease, error) {
	n, err := q.enqueue(ctx, ep, marker, data)
	if err != nil {
		return nil, err
	}
	l, err := n.await(ctx, rule, try)
	if err != nil {
		n.remove(ctx)
		return nil, err
	}
	return l, nil
}

// node is our contender in the queue, bound to the epoch that created it.
type node struct {
	q      *Queue
	ep     *session.Epoch
	name   string // child name, with its sequence
	marker string

	// The listing that rode behind our create, if any: the first decision
	// needs no round trip of its own.
	firstChildren []string
	firstStat     *zk.Stat
}

func (n *node) path() string { return Join(n.q.dir, n.name) }

// enqueue creates our node with Curator's protection: the name carries a
// fresh id, so that after a create whose outcome is unknown we can find our
// node instead of creating a second one. The create itself is never
// abandoned (it would land unseen, an orphan): a cancelled ctx is honoured
// once its outcome is known, by deleting what it made.
func (q *Queue) enqueue(ctx context.Context, ep *session.Epoch, marker string, data []byte) (*node, error) {
	id := NewProtectedID()
	prefix := Join(q.dir, ProtectedPrefix(id)+marker)
	bg := context.WithoutCancel(ctx)
	for {
		var n *node
		p, children, stat, err := ep.CreateAndList(bg, prefix, data, zk.FlagEphemeralSequential, q.acl)
		switch {
		case err == nil:
			n = &node{q: q, ep: ep, name: Base(p), marker: marker, firstChildren: children, firstStat: stat}
		case errors.Is(err, zk.ErrNoNode):
			if err := q.ensureDir(ctx, ep); err != nil {
				return nil, err
			}
		case errors.Is(err, zk.ErrNoChildrenForEphemerals):
			return nil, &PathError{Path: q.dir, Reason: "an ephemeral node, which cannot hold contenders"}
		case errors.Is(err, session.ErrConnectionLoss):
			found, ferr := q.recover(bg, ep, id)
			if ferr != nil {
				return nil, ferr
			}
			n = found
		default:
			return nil, SessionError(err)
		}
		if err := ctx.Err(); err != nil {
			if n != nil {
				n.remove(bg)
			}
			return nil, err
		}
		if n != nil {
			return n, nil
		}
	}
}

// recover looks for the node a create with an unknown outcome may have
// made. The sync first makes the server we read from catch up with the
// leader: a create sent through a server we lost touch with is either
// committed by then, or refused for good once the session has moved. A node
// of ours owned by another session (an earlier epoch the server has not
// expired yet) is deleted, never adopted: it would vanish with that session
// while we believed we held it.
func (q *Queue) recover(ctx context.Context, ep *session.Epoch, id string) (*node, error) {
	for {
		if err := ep.Sync(ctx, q.dir); err != nil && !errors.Is(err, zk.ErrNoNode) {
			if errors.Is(err, session.ErrConnectionLoss) {
				continue
			}
			return nil, SessionError(err)
		}
		children, _, err := ep.Children(ctx, q.dir)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return nil, nil
		case errors.Is(err, session.ErrConnectionLoss):
			continue // reads are safe to repeat; the next waits for a connection
		case err != nil:
			return nil, SessionError(err)
		}
		name, ok := FindByProtectedID(children, id)
		if !ok {
			return nil, nil
		}
		n := &node{q: q, ep: ep, name: name}
		_, stat, err := ep.Get(ctx, n.path())
		switch {
		case errors.Is(err, zk.ErrNoNode), errors.Is(err, session.ErrConnectionLoss):
			continue
		case err != nil:
			return nil, SessionError(err)
		}
		if stat.EphemeralOwner == ep.SessionID() {
			return n, nil
		}
		n.remove(ctx)
	}
}

// ensureDir creates the recipe directory and its missing ancestors as
// container nodes (the server removes them once empty), or persistent
// nodes where the server predates containers. The recipe's ACL goes on its
// own directory; ancestors are created open, since other applications may
// share them (create them beforehand to choose their ACL): a restrictive
// ancestor made by the first recipe to pass would lock every other out.
func (q *Queue) ensureDir(ctx context.Context, ep *session.Epoch) error {
	for {
		retry, err := q.createDirs(ctx, ep)
		if !retry {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// createDirs makes one pass from the deepest existing ancestor down. The
// server deletes an empty container at any time, so an ancestor seen a
// moment ago may be gone when we create beneath it: then retry is true
// and the walk starts again from the top.
func (q *Queue) createDirs(ctx context.Context, ep *session.Epoch) (retry bool, err error) {
	var missing []string
	for p := q.dir; p != "/"; p = Parent(p) {
		ok, _, err := ep.Exists(ctx, p)
		if err != nil {
			return false, SessionError(err)
		}
		if ok {
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		acl := zk.WorldACL(zk.PermAll)
		if i == 0 {
			acl = q.acl
		}
		_, err := ep.CreateContainer(ctx, missing[i], nil, acl)
		if errors.Is(err, zk.ErrUnknown) || errors.Is(err, zk.ErrAPIError) {
			_, err = ep.Create(ctx, missing[i], nil, zk.FlagPersistent, acl)
		}
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return true, nil
		case err != nil && !errors.Is(err, zk.ErrNodeExists):
			return false, SessionError(err)
		}
	}
	return false, nil
}

// contenders lists and sorts the queue; self is our index, -1 when our node
// is gone.
func (n *node) contenders(ctx context.Context, watch bool) (queue []Contender, self int, stat *zk.Stat, changed <-chan zk.Event, err error) {
	for {
		children, stat, paired := n.firstChildren, n.firstStat, n.firstChildren != nil
		n.firstChildren, n.firstStat = nil, nil
		if paired && watch {
			paired, children = false, nil // a children watch needs a listing of its own
		}
		if !paired {
			if watch {
				children, stat, changed, err = n.ep.ChildrenW(ctx, n.q.dir)
			} else {
				children, stat, err = n.ep.Children(ctx, n.q.dir)
			}
			if errors.Is(err, session.ErrConnectionLoss) {
				continue
			}
			if errors.Is(err, zk.ErrNoNode) {
				return nil, -1, nil, nil, nil
			}
			if err != nil {
				return nil, -1, nil, nil, SessionError(err)
			}
		}
		queue = SortContenders(children, n.q.markers...)
		for i, c := range queue {
			if c.Name == n.name {
				return queue, i, stat, changed, nil
			}
		}
		if paired {
			continue // not expected of a listing sent behind our create; ask again
		}
		return queue, -1, stat, changed, nil
	}
}

// await runs the queue algorithm: list, let the rule decide, watch what it
// names (one node, or for a rule that keeps one waiter, the set of
// contenders), and decide again after every wake-up.
func (n *node) await(ctx context.Context, rule Rule, try bool) (*Lease, error) {
	watchChildren := false
	for {
		resumed := n.ep.Resumed()
		queue, self, stat, changed, err := n.contenders(ctx, watchChildren)
		if err != nil {
			return nil, err
		}
		if self < 0 {
			// Our node is gone while our epoch may still look alive: someone
			// deleted it, or the session is expiring under us.
			return nil, &LostError{Cause: fmt.Errorf("contender node %s deleted", n.path())}
		}
		d := rule(queue, self)
		if d.Acquired {
			// The listing shows our node, created in this epoch's session,
			// where the rule grants it; the epoch must still be alive after
			// that read.
			if err := n.ep.Check(); err != nil {
				return nil, &LostError{Cause: err}
			}
			return newLease(n, stat.Pzxid, len(queue)), nil
		}
		if try {
			return nil, ErrWouldBlock
		}
		last := false // the watched node is the last one ahead that blocks us
		if d.WatchChildren {
			if changed == nil {
				watchChildren = true
				continue // list again, leaving the watch this time
			}
		} else {
			_, _, changed, err = n.ep.GetW(ctx, Join(n.q.dir, d.Watch))
			switch {
			case errors.Is(err, zk.ErrNoNode), errors.Is(err, session.ErrConnectionLoss):
				continue // gone already, or unknown: decide again at once
			case err != nil:
				return nil, SessionError(err)
			}
			last = grantedWithout(rule, queue, self, d.Watch)
		}
		// Only the queue's length may outlive the wait: a thousand waiters
		// each keeping a listing of a thousand names alive would cost the
		// collector more than the handoff itself.
		ahead := len(queue) - 1
		select {
		case ev := <-changed:
			if last && ev.Type == zk.EventNodeDeleted {
				token, err := n.confirm(ctx)
				if err == nil {
					return newLease(n, token, ahead), nil
				}
				if errors.Is(err, ErrLost) {
					return nil, err
				}
				// Unknown (a connection loss): list and decide as usual.
			}
		case <-resumed: // the watch may not have survived the reconnect
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.ep.Done():
			return nil, &LostError{Cause: n.ep.Err()}
		}
	}
}

// grantedWithout reports whether rule would grant self once the contender
// named watched is gone, with the rest of queue as it is. Every contender
// ahead of us was in queue (sequence numbers only grow, and queue was listed
// after our create), and rules are monotone: a contender ahead leaving never
// takes a grant away. So when it says yes, the watched node's deletion is
// our grant, and confirm can stand in for listing the whole queue again.
func grantedWithout(rule Rule, queue []Contender, self int, watched string) bool {
	for i := range self {
		if queue[i].Name == watched {
			rest := make([]Contender, 0, len(queue)-1)
			rest = append(append(rest, queue[:i]...), queue[i+1:]...)
			return rule(rest, self-1).Acquired
		}
	}
	return false
}

// confirm is the check after a wake-up that grantedWithout said grants us:
// our node must still exist and belong to our epoch's session, and the epoch
// must be alive after that read. The token is the directory's pzxid read
// after the deletion that woke us, as a listing would have given it. The two
// reads go out together and cost one round trip, whatever the queue's length,
// where a listing grows with it. An error that is not ErrLost leaves the
// outcome to a listing.
func (n *node) confirm(ctx context.Context) (token int64, err error) {
	type dirResult struct {
		ok   bool
		stat *zk.Stat
		err  error
	}
	dir := make(chan dirResult, 1)
	go func() {
		ok, st, err := n.ep.Exists(ctx, n.q.dir)
		dir <- dirResult{ok, st, err}
	}()
	ok, own, err := n.ep.Exists(ctx, n.path())
	d := <-dir
	switch {
	case err != nil:
		return 0, SessionError(err)
	case !ok:
		return 0, &LostError{Cause: fmt.Errorf("contender node %s deleted", n.path())}
	case own.EphemeralOwner != n.ep.SessionID():
		return 0, &LostError{Cause: fmt.Errorf("contender node %s owned by session 0x%x", n.path(), own.EphemeralOwner)}
	case d.err != nil:
		return 0, SessionError(d.err)
	case !d.ok:
		return 0, fmt.Errorf("directory %s not found while our node exists", n.q.dir)
	}
	if err := n.ep.Check(); err != nil {
		return 0, &LostError{Cause: err}
	}
	return d.stat.Pzxid, nil
}

// remove deletes our node, waiting through a disconnection if it must.
// It gives up only when the epoch ends, which deletes the node anyway.
func (n *node) remove(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	for {
		err := n.ep.Delete(ctx, n.path(), -1)
		switch {
		case err == nil, errors.Is(err, zk.ErrNoNode):
			return nil
		case errors.Is(err, session.ErrConnectionLoss):
			continue
		case n.ep.Err() != nil:
			return nil // the session is over and its nodes with it
		}
		return SessionError(err)
	}
}
