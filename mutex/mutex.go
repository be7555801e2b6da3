package mutex

import (
	"context"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// Mutex is a fair lock shared by every process that opens the same path:
// acquisitions follow the order in which contenders joined the queue.
//
// It is not reentrant. Go has no goroutine identity to tie a lock to, and a
// lock that a goroutine could take twice would hide the bug of two pieces
// of code believing each alone holds it. Each Lock is its own Lease.
type Mutex struct {
	q    *recipes.Queue
	data []byte
}

// Option configures a Mutex.
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

// WithObserver reports every acquisition, release, loss and abandoned
// wait to o, e.g. otelmetrics' Observer.
func WithObserver(o recipes.Observer) Option { return func(o2 *options) { o2.observer = o } }

// New returns the mutex at path. Nothing is written until Lock.
func New(m *session.Manager, path string, opts ...Option) (*Mutex, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	q, err := recipes.NewQueue(m, path, o.acl, recipes.MutexMarkers()...)
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
	q.Observe("mutex", o.observer)
	return &Mutex{q: q, data: []byte(o.identity)}, nil
}

// Lock waits for the lock until ctx ends, and then returns a
// *recipes.WaitError (which matches ctx's error) at once, even during a
// partition. A cancelled wait does not delay the contenders after it: its
// node is deleted before Lock returns, or in the background if ctx allows
// no time for that, or goes with the session.
//
// Lock is not reentrant: a goroutine that calls it again while it holds the
// lock waits forever. When a waiter's only blocker has been a lease of its
// own session (the same manager) for several seconds, it logs that once at
// Warn through the manager's Logger.
//
// Cost, uncontended: two round trips to the server (the create, with the
// listing riding behind it; a read of the node's czxid for the token),
// three on first use (the directory). Unlock is one more. On a loopback
// ensemble that is about a millisecond; give Lock a timeout of several
// round trips' worth (tens of milliseconds at least), never one of a
// millisecond.
func (mu *Mutex) Lock(ctx context.Context) (*Lease, error) {
	return mu.acquire(ctx, false)
}

// TryLock takes the lock only if nobody holds or waits for it, and
// otherwise returns recipes.ErrWouldBlock at once.
func (mu *Mutex) TryLock(ctx context.Context) (*Lease, error) {
	return mu.acquire(ctx, true)
}

func (mu *Mutex) acquire(ctx context.Context, try bool) (*Lease, error) {
	l, err := mu.q.Acquire(ctx, recipes.MarkerLock, mu.data, recipes.Exclusive, try)
	if err != nil {
		return nil, err
	}
	return &Lease{l}, nil
}

// Lease is one holding of the mutex. See recipes.Lease for Token, Done,
// Err, Context and Guard.
type Lease struct{ *recipes.Lease }

// Unlock releases the lock; see recipes.Lease.Release.
func (l *Lease) Unlock(ctx context.Context) error { return l.Release(ctx) }
