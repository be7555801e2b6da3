package recipes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

var (
	// ErrWouldBlock is returned by the Try forms when the lock is held by
	// others; no node is left behind.
	ErrWouldBlock = errors.New("zkcoord: held by another contender")

	// ErrReleased is a lease's Err after its holder released it.
	ErrReleased = errors.New("zkcoord: released")
)

// Lease is one acquisition: proof of ownership until Done closes.
type Lease struct {
	n          *node
	token      int64
	queue      int       // contenders in the listing that granted it
	acquiredAt time.Time // when the acquisition was confirmed

	ctx    context.Context
	cancel context.CancelCauseFunc
	once   sync.Once
	// unhook detaches the lease from its epoch's end, which otherwise
	// ends the lease synchronously (session.Epoch.OnEnd).
	unhook atomic.Pointer[func() bool]

	mu       sync.Mutex
	released bool
	watching chan struct{}          // closed when the monitor returns
	hooks    map[uint64]func(error) // OnEnd's; nil once ended
	nextHook uint64
}

func newLease(n *node, token int64, queue int) *Lease {
	ctx, cancel := context.WithCancelCause(context.Background())
	l := &Lease{n: n, token: token, queue: queue, acquiredAt: time.Now(), ctx: ctx, cancel: cancel,
		watching: make(chan struct{}), hooks: map[uint64]func(error){}}
	// The epoch's end is the one loss that must be signalled before anyone
	// else can acquire: the server deletes our node right after it.
	unhook := n.ep.OnEnd(func(err error) { l.lose(err) })
	l.unhook.Store(&unhook)
	go l.monitor()
	return l
}

// Token is the fencing token: the czxid of the lease's own node, the zxid
// of the transaction that created it. Exclusive holders are granted in the
// order their nodes were created, so it increases strictly from one holder
// to the next, even across session expiry or the recipe directory being
// deleted and created again; and since a node's czxid never changes, no
// server's lag can make it repeat an earlier holder's. A resource that
// remembers the highest token it has seen and refuses lower ones cannot be
// written by a holder that lost its lease and does not know it yet.
//
// Leases held together (an rwlock's readers, a semaphore's permits) have
// different tokens, each above every token of an exclusive holder that
// held before it and below every one that holds after it.
func (l *Lease) Token() int64 { return l.token }

// Path is the lease's node.
func (l *Lease) Path() string { return l.n.path() }

// Done closes when ownership can no longer be guaranteed: the session's
// epoch ended (before anyone else can acquire), the node was deleted by
// someone else, or the lease was released.
func (l *Lease) Done() <-chan struct{} { return l.ctx.Done() }

// Context is cancelled when Done closes, for work that must stop with the
// lease; context.Cause says why.
func (l *Lease) Context() context.Context { return l.ctx }

// Err is nil while held, ErrReleased after Release, or a *LostError.
//
// Err also reads the clock: a process that was paused past its session's
// safe deadline sees the loss from its first call on waking, even before
// the epoch's timer has run to close Done.
func (l *Lease) Err() error {
	if l.ctx.Err() == nil {
		if err := l.n.ep.Check(); err != nil {
			l.lose(err)
		} else {
			return nil
		}
	}
	return context.Cause(l.ctx) // what finish cancelled it with
}

// OnEnd arranges for f to run with the lease's Err when the lease ends, in
// the call that ends it, right after Done closes: a lease made of others
// (a semaphore's permits) ends with them without waiting for a goroutine,
// so when the session's epoch ends it ends before anyone else can acquire.
// f must not block. If the lease has ended, f runs at once. stop cancels
// the arrangement and reports whether it did so before f ran.
func (l *Lease) OnEnd(f func(error)) (stop func() bool) {
	l.mu.Lock()
	if l.hooks == nil {
		l.mu.Unlock()
		f(context.Cause(l.ctx))
		return func() bool { return false }
	}
	id := l.nextHook
	l.nextHook++
	l.hooks[id] = f
	l.mu.Unlock()
	return func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		_, ok := l.hooks[id]
		delete(l.hooks, id)
		return ok
	}
}

func (l *Lease) finish(err error) {
	l.once.Do(func() {
		l.cancel(err)
		l.mu.Lock()
		hooks := l.hooks
		l.hooks = nil
		l.mu.Unlock()
		for _, f := range hooks {
			f(err)
		}
		if unhook := l.unhook.Load(); unhook != nil {
			(*unhook)()
		}
		e := Event{What: Lost, Marker: l.n.marker, Held: time.Since(l.acquiredAt), Err: err}
		if err == ErrReleased {
			e.What, e.Err = Released, nil
		}
		l.n.q.emit(e)
	})
}

func (l *Lease) lose(cause error) { l.finish(lost(cause)) }

// monitor keeps a watch on our own node, so that a deletion by anyone else
// ends the lease, and ends it with the epoch. Setting the watch also checks
// the node's owner, off the acquisition's critical path.
func (l *Lease) monitor() {
	defer close(l.watching)
	ep := l.n.ep
	// deleted reports our node's deletion, unless the epoch is past its
	// deadline: then the server expiring the session deleted it, and a
	// process that wakes from a pause to a queued notification must still
	// be told the true cause.
	deleted := func() {
		if err := ep.Check(); err != nil {
			l.lose(err)
			return
		}
		l.lose(fmt.Errorf("node %s deleted", l.Path()))
	}
	for {
		resumed := ep.Resumed()
		_, stat, watch, err := ep.GetW(l.ctx, l.Path())
		switch {
		case l.ctx.Err() != nil:
			return
		case errors.Is(err, zk.ErrNoNode):
			deleted()
			return
		case errors.Is(err, session.ErrConnectionLoss):
			continue
		case ep.Err() != nil:
			l.lose(ep.Err())
			return
		case err != nil:
			l.lose(err)
			return
		case stat.EphemeralOwner != ep.SessionID():
			l.lose(fmt.Errorf("node %s owned by session 0x%x", l.Path(), stat.EphemeralOwner))
			return
		}
		select {
		case ev := <-watch:
			if ev.Type == zk.EventNodeDeleted {
				deleted()
				return
			}
		case <-resumed:
		case <-ep.Done():
			l.lose(ep.Err())
			return
		case <-l.ctx.Done():
			return
		}
	}
}

// Release gives the lease up and deletes its node, so the next contender
// can go. The lease ends at once; Release returns once the node is gone, or
// when ctx ends first (during a partition, say): it then returns an error
// matching ctx's, and the node is deleted in the background once the
// connection is back, or goes with the session at its end (the safe
// deadline at the latest). A second call, or a call after loss, reports
// ErrNotHeld.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	again := l.released
	l.released = true
	l.mu.Unlock()
	if again {
		return fmt.Errorf("%w: already released", ErrNotHeld)
	}
	lostErr := l.Err()
	l.finish(ErrReleased)
	<-l.watching
	done, err := l.n.discard(ctx)
	switch {
	case lostErr != nil:
		return fmt.Errorf("%w: %w", ErrNotHeld, lostErr)
	case !done:
		return fmt.Errorf("zkcoord: released, but %s is deleted in the background: %w", l.Path(), ctx.Err())
	}
	return err
}

// Guard applies ops (*zk.CreateRequest, *zk.SetDataRequest,
// *zk.DeleteRequest, *zk.CheckVersionRequest) in one transaction that also
// checks that the lease's node still exists: they take effect only while
// the lease is held, whatever this process believes. Paths are as for the
// session (relative to its chroot). The responses are those of ops.
func (l *Lease) Guard(ctx context.Context, ops ...any) ([]zk.MultiResponse, error) {
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotHeld, err)
	}
	ep := l.n.ep
	if err := ep.Check(); err != nil {
		l.lose(err)
		return nil, fmt.Errorf("%w: %w", ErrNotHeld, l.Err())
	}
	all := append([]any{&zk.CheckVersionRequest{Path: l.Path(), Version: -1}}, ops...)
	res, err := ep.Multi(ctx, all...)
	if err == nil {
		return res[1:], nil
	}
	// A failed transaction does not say which op failed; ask whether it was ours.
	if ok, _, xerr := ep.Exists(ctx, l.Path()); xerr == nil && !ok {
		l.lose(fmt.Errorf("node %s deleted", l.Path()))
		return nil, fmt.Errorf("%w: %w", ErrNotHeld, l.Err())
	}
	if len(res) > 1 {
		res = res[1:]
	}
	return res, SessionError(err)
}
