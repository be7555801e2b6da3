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
	pump     *pump // delivers to observer off the acquiring and losing paths
	noTokens bool
	marks    bool // holders mark their node (handoff.go)
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
	if err := ValidateACL(acl); err != nil {
		return nil, err
	}
	return &Queue{m: m, dir: dir, markers: markers, acl: acl, pump: &pump{}}, nil
}

// WithoutTokens spares the queue's acquisitions the read of their node's
// czxid where the create's reply did not carry it (a create recovered after
// a lost reply), for a queue nobody fences with (a semaphore's internal
// lock): such a lease's Token is 0. Call it before the queue is used.
func (q *Queue) WithoutTokens() { q.noTokens = true }

// MarkHolders lets a holder that heads the queue with others behind it mark
// its node, so that the contender behind it takes over on the node's
// deletion alone (handoff.go). Only for queues whose peers wake on any
// event on the node they watch (Curator's and kazoo's locks do; Curator's
// LeaderLatch does not). Call it before the queue is used.
func (q *Queue) MarkHolders() { q.marks = true }

// Dir is the recipe's directory.
func (q *Queue) Dir() string { return q.dir }

// Manager is the session manager the queue works through.
func (q *Queue) Manager() *session.Manager { return q.m }

// Acquire joins the queue as a node of kind marker carrying data and waits
// until rule grants it, ctx ends, or the session's epoch ends. With try, it
// gives up at once (ErrWouldBlock) instead of waiting.
//
// ctx bounds the call, during a partition too: when it ends, Acquire
// returns a *WaitError (matching ctx's error) at once. A node that does not
// become a lease is deleted before Acquire returns when that takes no
// longer than ctx allows, and otherwise in the background: found by its id
// if its create's outcome is unknown, deleted once the connection is back,
// or gone with its session when the session ends first.
//
// Cost, uncontended: one round trip to the server (the create, with the
// listing riding behind it; the token is in the create's reply), plus the
// directory's creation on first use. A waiter whose predecessor's deletion
// decides its turn takes over on that notification alone (handoff.go).
func (q *Queue) Acquire(ctx context.Context, marker string, data []byte, rule Rule, try bool) (*Lease, error) {
	if err := ValidateData(data); err != nil {
		return nil, err
	}
	start := time.Now()
	l, err := q.acquire(ctx, marker, data, rule, try, start)
	if err != nil {
		q.emit(Event{What: Abandoned, Marker: marker, Wait: time.Since(start), Err: err})
		return nil, err
	}
	q.emit(Event{What: Acquired, Marker: marker, Wait: l.acquiredAt.Sub(start), Queue: l.queue})
	return l, nil
}

func (q *Queue) acquire(ctx context.Context, marker string, data []byte, rule Rule, try bool, start time.Time) (*Lease, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, q.waitError(err, start, -1)
		}
		ep, err := q.m.Epoch(ctx)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
				return nil, q.waitError(cerr, start, -1)
			}
			return nil, SessionError(err)
		}
		l, err := q.acquireIn(ctx, ep, marker, data, rule, try, start)
		// A session that ends while we only wait takes nothing from us but
		// our place in the queue: join again in the next one.
		if err != nil && !try && ep.Err() != nil && errors.Is(err, ErrLost) && ctx.Err() == nil {
			continue
		}
		return l, err
	}
}

func (q *Queue) acquireIn(ctx context.Context, ep *session.Epoch, marker string, data []byte, rule Rule, try bool, start time.Time) (*Lease, error) {
	n, err := q.enqueue(ctx, ep, marker, data)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return nil, q.waitError(cerr, start, -1)
		}
		return nil, err
	}
	n.start = start
	l, err := n.await(ctx, rule, try)
	if err != nil {
		// A node we cannot delete would head the queue one day with nobody
		// to release it: say so rather than return as if it were gone.
		if _, rerr := n.discard(ctx); rerr != nil {
			err = fmt.Errorf("%w; and its node %s could not be deleted: %w", err, n.path(), rerr)
		}
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
	data   []byte // what we created it with, which a mark writes again

	// The listing that rode behind our create, if any, or the shared one
	// of contenders who joined with us: the first decision needs no round
	// trip of its own.
	first *listing

	czx   int64            // our node's czxid, the token; 0 until known
	early chan czxidResult // a czxid read, when the create's reply did not give it
	own   <-chan zk.Event  // a watch on our own node, set when we first wait
	start time.Time        // when Acquire was called, for a WaitError
	ahead int              // contenders ahead of ours in the last listing
	lists int              // listings of our own, after the first
}

func (n *node) path() string { return Join(n.q.dir, n.name) }

// enqueue creates our node with Curator's protection: the name carries a
// fresh id, so that after a create whose outcome is unknown we can find our
// node instead of creating a second one. The create itself is never
// abandoned (it would land unseen, an orphan), but the caller is not held
// past ctx for it: the create's outcome is awaited in the background, and
// whatever it made is deleted there.
func (q *Queue) enqueue(ctx context.Context, ep *session.Epoch, marker string, data []byte) (*node, error) {
	if ctx.Done() == nil {
		return q.create(ctx, ep, marker, data)
	}
	type result struct {
		n   *node
		err error
	}
	res := make(chan result, 1)
	go func() {
		n, err := q.create(ctx, ep, marker, data)
		res <- result{n, err}
	}()
	select {
	case r := <-res:
		if r.n != nil && ctx.Err() != nil {
			r.n.discard(ctx)
			return nil, ctx.Err()
		}
		return r.n, r.err
	case <-ctx.Done():
		// The cleanup ends with the create's outcome, at the latest when
		// the epoch ends (every request returns then).
		go func() {
			if r := <-res; r.n != nil {
				r.n.remove()
			}
		}()
		return nil, ctx.Err()
	}
}

// create makes our node. ctx may end only before the create is sent; the
// create and the search after an unknown outcome run to their end.
//
// Alone, a contender sends the listing right behind its create (one round
// trip for both). When others of this process are joining the same queue
// at the same moment, it creates only, and shares their next listing.
func (q *Queue) create(ctx context.Context, ep *session.Epoch, marker string, data []byte) (*node, error) {
	id := NewProtectedID()
	prefix := Join(q.dir, ProtectedPrefix(id)+marker)
	bg := context.WithoutCancel(ctx)
	lister, alone := q.openLister()
	defer lister.close()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var (
			p        string
			czx      int64
			children []string
			stat     *zk.Stat
			err      error
		)
		if alone {
			p, czx, children, stat, err = ep.CreateAndList(bg, prefix, data, zk.FlagEphemeralSequential, q.acl)
		} else {
			p, czx, err = ep.CreateZxid(bg, prefix, data, zk.FlagEphemeralSequential, q.acl)
		}
		switch {
		case err == nil:
			n := &node{q: q, ep: ep, name: Base(p), marker: marker, data: data, czx: czx}
			switch {
			case children != nil:
				n.first = &listing{ep: ep, queue: SortContenders(children, q.markers...), stat: stat}
			case !alone:
				l, err := lister.listAfter(ctx, q, ep)
				if err != nil {
					n.discard(bg)
					return nil, err
				}
				n.first = l
			}
			return n, nil
		case errors.Is(err, zk.ErrNoNode):
			if err := q.ensureDir(ctx, ep); err != nil {
				return nil, err
			}
		case errors.Is(err, zk.ErrNoChildrenForEphemerals):
			return nil, &PathError{Path: q.dir, Reason: "an ephemeral node, which cannot hold contenders"}
		case errors.Is(err, session.ErrConnectionLoss):
			found, ferr := q.recover(bg, ep, id)
			if ferr != nil || found != nil {
				if found != nil {
					found.marker, found.data = marker, data
				}
				return found, ferr
			}
		default:
			return nil, SessionError(err)
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
			n.czx = stat.Czxid // the token, as if read after an ordinary create
			return n, nil
		}
		n.remove()
	}
}

// ensureDir creates the recipe directory and its missing ancestors as
// container nodes (the server removes them once empty), or persistent
// nodes where the server predates containers. The recipe's ACL goes on its
// own directory; ancestors are created open, since other applications may
// share them (create them beforehand to choose their ACL): a restrictive
// ancestor made by the first recipe to pass would lock every other out.
func (q *Queue) ensureDir(ctx context.Context, ep *session.Epoch) error {
	return MakePath(ctx, ep, q.dir, NodeSpec{ACL: q.acl}, NodeSpec{})
}

// contenders lists and sorts the queue; self is our index, -1 when our node
// is gone. The queue may be shared with other contenders: read it, never
// write it.
func (n *node) contenders(ctx context.Context, watch bool) (queue []Contender, self int, stat *zk.Stat, changed <-chan zk.Event, err error) {
	for {
		first := n.first
		n.first = nil
		if first != nil && (watch || first.err != nil) {
			first = nil // a children watch needs a listing of its own
		}
		if first != nil {
			if self := first.find(n.name); self >= 0 {
				return first.queue, self, first.stat, nil, nil
			}
			continue // not expected of a listing sent after our create; ask again
		}
		if n.czx == 0 && !n.q.noTokens {
			// The create's reply did not give our czxid, the token: ask for
			// it with the listing, in case the listing grants us.
			n.fetchCzxid(ctx)
		}
		n.lists++
		if !watch {
			// Shared with whoever else of this process lists the queue now.
			lister, _ := n.q.openLister()
			l, err := lister.listAfter(ctx, n.q, n.ep)
			lister.close()
			if err != nil {
				return nil, -1, nil, nil, SessionError(err)
			}
			first = l
		} else {
			children, stat, ch, err := n.ep.ChildrenW(ctx, n.q.dir)
			first, changed = &listing{stat: stat, err: err}, ch
			if err == nil {
				first.queue = SortContenders(children, n.q.markers...)
			}
		}
		switch err := first.err; {
		case errors.Is(err, session.ErrConnectionLoss):
			continue
		case errors.Is(err, zk.ErrNoNode):
			return nil, -1, nil, nil, nil
		case err != nil:
			return nil, -1, nil, nil, SessionError(err)
		}
		return first.queue, first.find(n.name), first.stat, changed, nil
	}
}

// await runs the queue algorithm: list, let the rule decide, watch what it
// names (one node, or for a rule that keeps one waiter, the set of
// contenders), and decide again after every wake-up that the watch alone
// cannot decide (see handoff.go).
func (n *node) await(ctx context.Context, rule Rule, try bool) (*Lease, error) {
	var selfBlocked selfBlock
	defer selfBlocked.stop()
	watchChildren := false
	for {
		resumed := n.ep.Resumed()
		queue, self, _, changed, err := n.contenders(ctx, watchChildren)
		if err != nil {
			return nil, n.ctxError(ctx, err)
		}
		if self < 0 {
			// Our node is gone while our epoch may still look alive: someone
			// deleted it, or the session is expiring under us.
			return nil, lost(fmt.Errorf("contender node %s deleted", n.path()))
		}
		n.ahead = self
		d := rule(queue, self)
		if d.Acquired {
			// The listing shows our node, created in this epoch's session,
			// where the rule grants it; the epoch must still be alive after
			// that read.
			var token int64
			if !n.q.noTokens || n.czx != 0 {
				token, err = n.token(ctx)
			}
			if err != nil {
				if errors.Is(err, session.ErrConnectionLoss) {
					continue
				}
				return nil, n.ctxError(ctx, err)
			}
			if err := n.ep.Check(); err != nil {
				return nil, lost(err)
			}
			return n.hold(token, len(queue), self == 0 && len(queue) > 1), nil
		}
		if try {
			return nil, ErrWouldBlock
		}
		// Only the queue's length, and what the rule says of a few futures,
		// may outlive the wait: a thousand waiters each keeping a listing of
		// a thousand names alive would cost the collector more than the
		// handoff itself.
		size := len(queue)
		if d.WatchChildren {
			if changed == nil {
				watchChildren = true
				continue // list again, leaving the watch this time
			}
			select {
			case <-changed:
			case <-resumed: // the watch may not have survived the reconnect
			case <-ctx.Done():
				return nil, n.q.waitError(ctx.Err(), n.start, n.ahead)
			case <-n.ep.Done():
				return nil, lost(n.ep.Err())
			}
			continue
		}
		h := newHandoff(rule, queue, self, d.Watch)
		queue = nil
		l, err := n.waitFor(ctx, h, resumed, &selfBlocked)
		if l != nil || err != nil {
			if l != nil {
				l.queue = size
			}
			return l, err
		}
	}
}

// hold makes the lease, and marks our node when we head the queue with
// others behind us (see handoff.go). The mark is sent before the lease is
// handed out, so that its holder's release is sent behind it.
func (n *node) hold(token int64, queue int, mark bool) *Lease {
	if mark && n.q.marks {
		sent, done := n.ep.SendSet(n.ep.Context(), n.path(), n.data, 0)
		// Waits only while the connection is down: a mark sent after the
		// release finds no node, which costs the next holder a listing.
		t := time.NewTimer(markWait)
		select {
		case <-sent:
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	return newLease(n, token, queue)
}

// ctxError turns an error caused by ctx's end into a *WaitError.
func (n *node) ctxError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		return n.q.waitError(cerr, n.start, n.ahead)
	}
	return SessionError(err)
}
