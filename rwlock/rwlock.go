package rwlock

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// RWLock is a fair read-write lock shared by every process that opens the
// same path: readers hold together, a writer holds alone, and everyone is
// served in the order they joined the queue.
//
// An *RWLock value is one participant. While a read lease taken through it
// is held, Lock and TryLock on the same value return recipes.ErrUpgrade at
// once instead of waiting for that read lease, which would never end (see
// Lock). Code that needs independent readers and writers in one process
// opens one RWLock per participant with New; they may share a manager.
//
// It is not reentrant: RLock or Lock while the same value holds the write
// lock queue behind it like anyone else's. To turn a write lock into a read
// lock without letting a writer in between, use WriteLease.Downgrade.
type RWLock struct {
	q    *recipes.Queue
	data []byte

	mu    sync.Mutex
	reads map[*recipes.Lease]struct{} // read leases taken through this value, until they end
}

// Option configures an RWLock.
type Option func(*options)

type options struct {
	identity string
	acl      []zk.ACL
	observer recipes.Observer
}

// WithIdentity sets what the lock's nodes say about their holder, for
// inspection. Default: the manager's identity.
func WithIdentity(id string) Option { return func(o *options) { o.identity = id } }

// WithACL sets the ACL of the lock's nodes and of the directories it
// creates. Default: open to all (zk.WorldACL(zk.PermAll)).
func WithACL(acl []zk.ACL) Option { return func(o *options) { o.acl = acl } }

// WithObserver reports every read and write lease acquired, released or
// lost, and every abandoned wait, to o, e.g. otelmetrics' Observer.
func WithObserver(o recipes.Observer) Option { return func(o2 *options) { o2.observer = o } }

// New returns the read-write lock at path. Nothing is written until RLock or
// Lock.
func New(m *session.Manager, path string, opts ...Option) (*RWLock, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	q, err := recipes.NewQueue(m, path, o.acl, recipes.RWLockMarkers()...)
	if err != nil {
		return nil, err
	}
	q.MarkHolders()
	if o.identity == "" {
		o.identity = m.Identity()
	}
	if err := recipes.ValidateData([]byte(o.identity)); err != nil {
		return nil, err
	}
	q.Observe("rwlock", o.observer)
	return &RWLock{q: q, data: []byte(o.identity), reads: map[*recipes.Lease]struct{}{}}, nil
}

// readRule is a reader's: it waits only for writers ahead of it, watching
// the nearest one.
var readRule = recipes.Shared(recipes.MarkerWrite)

// RLock waits for the read lock until ctx ends, and then returns a
// *recipes.WaitError (which matches ctx's error) at once, even during a
// partition. It holds as soon as no writer is ahead of it in the queue,
// together with any other readers; a reader that arrives while a writer
// waits queues behind that writer, so a steady stream of readers cannot
// starve writers. A cancelled wait does not delay the contenders after it:
// its node is deleted before RLock returns, or in the background.
//
// Cost, uncontended: two round trips (create with the listing behind it,
// and the token's read), as for Lock and mutex.Mutex.Lock.
func (rw *RWLock) RLock(ctx context.Context) (*ReadLease, error) {
	return rw.rlock(ctx, false)
}

// TryRLock takes the read lock only if no writer holds or waits for it,
// and otherwise returns recipes.ErrWouldBlock at once, leaving no node.
func (rw *RWLock) TryRLock(ctx context.Context) (*ReadLease, error) {
	return rw.rlock(ctx, true)
}

func (rw *RWLock) rlock(ctx context.Context, try bool) (*ReadLease, error) {
	l, err := rw.q.Acquire(ctx, recipes.MarkerRead, rw.data, readRule, try)
	if err != nil {
		return nil, err
	}
	return rw.track(l), nil
}

// track records a read lease of this value until it ends (released or lost),
// for the upgrade check.
func (rw *RWLock) track(l *recipes.Lease) *ReadLease {
	rw.mu.Lock()
	rw.reads[l] = struct{}{}
	rw.mu.Unlock()
	context.AfterFunc(l.Context(), func() {
		rw.mu.Lock()
		delete(rw.reads, l)
		rw.mu.Unlock()
	})
	return &ReadLease{l}
}

// holdsRead reports whether a read lease of this value is still held. A
// lease whose Done has closed is not, whether or not the AfterFunc that
// forgets it has run yet.
func (rw *RWLock) holdsRead() bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	for l := range rw.reads {
		if l.Err() == nil {
			return true
		}
	}
	return false
}

// Lock waits for the write lock until ctx ends. It holds once every
// contender ahead of it, reader or writer, has gone; until then it watches
// only the one just before it. A cancelled wait leaves nothing behind and
// does not delay the contenders after it.
//
// If a read lease taken through this same value is held when Lock is
// called, Lock returns recipes.ErrUpgrade at once and writes nothing: the
// writer would queue behind that read lease and wait for it forever
// (Curator's InterProcessReadWriteLock blocks in that case). Release the
// read lease first, or use a separate RWLock for an independent writer.
// The check is made when Lock is called; a read lease taken through the
// value while Lock waits queues behind the writer.
func (rw *RWLock) Lock(ctx context.Context) (*WriteLease, error) {
	return rw.lock(ctx, false)
}

// TryLock takes the write lock only if nobody holds or waits for the lock,
// and otherwise returns recipes.ErrWouldBlock at once, leaving no node. It
// returns recipes.ErrUpgrade as Lock does.
func (rw *RWLock) TryLock(ctx context.Context) (*WriteLease, error) {
	return rw.lock(ctx, true)
}

func (rw *RWLock) lock(ctx context.Context, try bool) (*WriteLease, error) {
	if rw.holdsRead() {
		return nil, fmt.Errorf("%w: this RWLock holds a read lease on %s", recipes.ErrUpgrade, rw.q.Dir())
	}
	l, err := rw.q.Acquire(ctx, recipes.MarkerWrite, rw.data, recipes.Exclusive, try)
	if err != nil {
		return nil, err
	}
	return &WriteLease{Lease: l, rw: rw}, nil
}

// ReadLease is one holding of the read lock. See recipes.Lease for Token,
// Done, Err, Context and Guard; the package documentation says how read
// tokens compare with write tokens.
type ReadLease struct{ *recipes.Lease }

// RUnlock releases the read lock; see recipes.Lease.Release.
func (l *ReadLease) RUnlock(ctx context.Context) error { return l.Release(ctx) }

// WriteLease is one holding of the write lock. See recipes.Lease for
// Token, Done, Err, Context and Guard.
type WriteLease struct {
	*recipes.Lease
	rw *RWLock
}

// Unlock releases the write lock; see recipes.Lease.Release.
func (l *WriteLease) Unlock(ctx context.Context) error { return l.Release(ctx) }

// Downgrade turns the write lock into a read lock with no writer in
// between: it takes the read lock while still holding the write lock, then
// releases the write lock, and returns the read lease. Readers queued
// behind the writer then hold together with it; writers behind it wait for
// the read lease too. On success the write lease has ended with
// recipes.ErrReleased, and the read lease's token is above the write
// lease's.
//
// Downgrade never waits for other contenders. It returns
//   - recipes.ErrNotHeld (wrapping the cause) if the write lease was
//     released or lost; nothing is written;
//   - recipes.ErrWouldBlock if another writer already waits for the lock:
//     that writer is ahead of any read node we could create now, and would
//     take the lock as soon as ours went while our reader still held, so
//     the downgrade is refused and the write lease stays held. Release it
//     and call RLock to read after that writer.
//
// In both cases no read node is left behind. If releasing the write lock
// fails after the read lock was taken, the read lease is released too and
// the error returned.
func (l *WriteLease) Downgrade(ctx context.Context) (*ReadLease, error) {
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", recipes.ErrNotHeld, err)
	}
	rule, saw := downgradeRule(recipes.Base(l.Path()))
	rl, err := l.rw.q.Acquire(ctx, recipes.MarkerRead, l.rw.data, rule, true)
	switch {
	case errors.Is(err, recipes.ErrWouldBlock) && !saw.writerAtHead:
		cause := l.Err()
		if cause == nil {
			cause = fmt.Errorf("write node %s is no longer at the head of the queue", l.Path())
		}
		return nil, fmt.Errorf("%w: %w", recipes.ErrNotHeld, cause)
	case errors.Is(err, recipes.ErrWouldBlock):
		return nil, fmt.Errorf("%w: writer %s waits behind this write lease; downgrading would let it hold with our reader", err, saw.waitingWriter)
	case err != nil:
		return nil, err
	}
	r := l.rw.track(rl)
	// The write lease ending because it was lost after the read lock was
	// granted does not undo the grant: no writer can hold while our
	// reader's node exists (see downgradeRule).
	if err := l.Release(ctx); err != nil && !errors.Is(err, recipes.ErrNotHeld) {
		r.RUnlock(ctx) // the node goes in the background if ctx has ended
		return nil, fmt.Errorf("rwlock: downgrade: releasing the write lock: %w", err)
	}
	return r, nil
}

// downgradeView is what downgradeRule saw in its one decision.
type downgradeView struct {
	writerAtHead  bool   // our write node headed the queue
	waitingWriter string // the other writer between it and our reader, if any
}

// downgradeRule is the read rule of a writer taking the read lock: our own
// write node (named writer) is dropped from the queue before the reader's
// rule applies, so the read lock is granted while we hold the write lock,
// provided
//   - our write node heads the queue: we hold it, so no reader or writer
//     is ahead of it, and none has held since we acquired it;
//   - no other writer comes between it and our reader: once our write node
//     goes, that writer would be first and hold while our reader does.
//
// Every contender created after our read node is behind it: a writer there
// waits for our reader, a reader there does not matter. So a grant is
// safe whatever happens to our write node afterwards. The rule never asks
// to wait (Downgrade runs it in try mode): with a writer between, waiting
// would deadlock, since that writer waits for our write node.
//
// Curator's InterProcessReadWriteLock instead grants the read lock outright
// when the same thread holds the write lock, and with a writer waiting lets
// it take the lock while the downgraded reader still holds.
func downgradeRule(writer string) (recipes.Rule, *downgradeView) {
	var saw downgradeView
	return func(queue []recipes.Contender, self int) recipes.Decision {
		saw = downgradeView{}
		if self <= 0 || self >= len(queue) || queue[0].Name != writer {
			return recipes.Decision{}
		}
		saw.writerAtHead = true
		d := readRule(queue[1:], self-1)
		if !d.Acquired {
			saw.waitingWriter = d.Watch
		}
		return d
	}, &saw
}
