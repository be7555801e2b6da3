package semaphore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// Semaphore lets at most a fixed number of permits be held at once across
// every process that opens the same path.
//
// The layout is Curator's InterProcessSemaphoreV2: permits are nodes in
// <path>/leases, and a fair internal mutex in <path>/locks admits one
// acquirer at a time to wait for a permit. So acquisitions are served in
// order, and a release wakes exactly one waiter.
type Semaphore struct {
	m           *session.Manager
	path        string
	max         int
	gate        *recipes.Queue // <path>/locks
	leases      *recipes.Queue // <path>/leases
	acl         []zk.ACL
	data        []byte
	changeLimit bool
	rooted      atomic.Bool // the semaphore's node has been seen to exist
}

// Option configures a Semaphore.
type Option func(*options)

type options struct {
	identity    string
	acl         []zk.ACL
	changeLimit bool
	observer    recipes.Observer
}

// WithIdentity sets what the semaphore's nodes say about their holder.
// Default: the manager's identity.
func WithIdentity(id string) Option { return func(o *options) { o.identity = id } }

// WithACL sets the ACL of the semaphore's nodes and directories, the
// semaphore's own node (which stores the limit) included. It must let the
// creator create and delete (recipes.ValidateACL), and read and write the
// limit. Default: open to all.
func WithACL(acl []zk.ACL) Option { return func(o *options) { o.acl = acl } }

// WithLimitChange makes this client's limit the semaphore's, replacing the
// one stored by its peers instead of failing with recipes.ErrLimitMismatch.
// Holders beyond a lowered limit keep their permits; new acquisitions wait
// until fewer than the new limit are held. Peers still using the old limit
// get ErrLimitMismatch on their next acquisition.
func WithLimitChange() Option { return func(o *options) { o.changeLimit = true } }

// WithObserver reports every permit acquired, released or lost, and every
// abandoned wait, to o (the internal lock's events are not reported).
func WithObserver(o recipes.Observer) Option { return func(o2 *options) { o2.observer = o } }

// New returns the semaphore at path with maxLeases permits. Nothing is
// written until the first acquisition, which creates path as a persistent
// node storing the limit (or checks it against the one stored there). path
// stays after use, so the limit outlives idle periods and a peer that
// restarts with another limit (a rolling deploy) still gets
// recipes.ErrLimitMismatch; delete it by hand to retire the semaphore.
func New(m *session.Manager, path string, maxLeases int, opts ...Option) (*Semaphore, error) {
	if maxLeases <= 0 {
		return nil, fmt.Errorf("%w: maxLeases %d must be > 0", recipes.ErrInvalidArgument, maxLeases)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	gate, err := recipes.NewQueue(m, path+"/locks", o.acl, recipes.MutexMarkers()...)
	if err != nil {
		return nil, err
	}
	gate.WithoutTokens() // nobody fences with the internal lock
	gate.MarkHolders()
	leases, err := recipes.NewQueue(m, path+"/leases", o.acl, recipes.LeaseMarkers()...)
	if err != nil {
		return nil, err
	}
	if err := recipes.ValidatePath(path); err != nil {
		return nil, err
	}
	if o.identity == "" {
		o.identity = m.Identity()
	}
	if err := recipes.ValidateData([]byte(o.identity)); err != nil {
		return nil, err
	}
	if o.acl == nil {
		o.acl = zk.WorldACL(zk.PermAll)
	}
	leases.Observe("semaphore", o.observer)
	return &Semaphore{m: m, path: path, max: maxLeases, gate: gate, leases: leases,
		acl: o.acl, data: []byte(o.identity), changeLimit: o.changeLimit}, nil
}

// Acquire takes n permits at once, all or none, waiting until ctx ends; it
// then returns a *recipes.WaitError that matches ctx's error.
//
// Cost, uncontended: two round trips to the server (join the internal
// lock, its listing riding behind its create, while the stored limit is
// read alongside; then the same for each permit, whose token comes in its
// create's reply), more on first use; the internal lock's node is deleted
// after Acquire returns, and Release waits for one more. On
// a loopback ensemble that is a few milliseconds, more on a loaded host or
// across a network: give Acquire a timeout of at least a few round
// trips' worth, 50 ms or more, never one of a millisecond or two.
func (s *Semaphore) Acquire(ctx context.Context, n int) (*Lease, error) {
	return s.acquire(ctx, n, false)
}

// TryAcquire takes n permits only if they are free and nobody waits ahead,
// and otherwise returns recipes.ErrWouldBlock at once.
func (s *Semaphore) TryAcquire(ctx context.Context, n int) (*Lease, error) {
	return s.acquire(ctx, n, true)
}

// acquireGate checks the limit and takes the internal lock. Once this value
// has seen the semaphore's node, the two go out together, saving a round
// trip; before, the node is made first, so that the internal lock's queue
// does not create it as an open container without a limit.
func (s *Semaphore) acquireGate(ctx context.Context, try bool) (*recipes.Lease, error) {
	if !s.rooted.Load() {
		if err := s.checkLimit(ctx); err != nil {
			return nil, err
		}
		return s.gate.Acquire(ctx, recipes.MarkerLock, s.data, recipes.Exclusive, try)
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	checked := make(chan error, 1)
	go func() {
		err := s.checkLimit(gctx)
		if err != nil {
			cancel() // no point queueing for a semaphore we disagree with
		}
		checked <- err
	}()
	gate, err := s.gate.Acquire(gctx, recipes.MarkerLock, s.data, recipes.Exclusive, try)
	if lerr := <-checked; lerr != nil && (ctx.Err() == nil || err == nil) {
		if gate != nil {
			go gate.Release(context.WithoutCancel(ctx))
		}
		return nil, lerr
	}
	return gate, err
}

// gateLost says the internal lock, or a permit, was lost while permits were
// being collected: the session ended under us. It never reaches a caller:
// acquire queues again, or says why it cannot.
type gateLost struct{ cause error }

func (e *gateLost) Error() string { return "semaphore's internal lock lost: " + e.cause.Error() }

func (s *Semaphore) acquire(ctx context.Context, n int, try bool) (*Lease, error) {
	if n <= 0 || n > s.max {
		return nil, fmt.Errorf("%w: %d permits of %d", recipes.ErrInvalidArgument, n, s.max)
	}
	start := time.Now()
	for {
		l, err := s.acquireOnce(ctx, n, try)
		var gl *gateLost
		switch {
		case !errors.As(err, &gl):
			return l, err
		case ctx.Err() != nil:
			return nil, &recipes.WaitError{Path: s.path, Waited: time.Since(start), Ahead: -1, Err: ctx.Err()}
		case try:
			return nil, recipes.SessionError(gl.cause)
		}
		// The session ended under us while we waited: queue again.
	}
}

// acquireOnce holds the internal lock while it collects the permits, so
// that only one contender at a time waits on the lease directory.
func (s *Semaphore) acquireOnce(ctx context.Context, n int, try bool) (*Lease, error) {
	gate, err := s.acquireGate(ctx, try)
	if err != nil {
		return nil, err
	}
	// The next acquirer may go as soon as we have our permits: the gate's
	// node is deleted in the background, at the latest with its session.
	defer func() { go gate.Release(context.WithoutCancel(ctx)) }()
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := gate.OnEnd(func(err error) {
		if err != recipes.ErrReleased {
			cancel(&gateLost{err})
		}
	})
	defer stop()

	var permits []*recipes.Lease
	for range n {
		p, err := s.leases.Acquire(wctx, recipes.MarkerLease, s.data, recipes.Limit(s.max), try)
		if err != nil {
			for _, p := range permits {
				p.Release(ctx)
			}
			if cause := context.Cause(wctx); cause != nil && ctx.Err() == nil {
				err = cause // the gate's loss, not the cancellation it caused
			}
			return nil, err
		}
		permits = append(permits, p)
	}
	l := newLease(permits)
	if err := l.Err(); err != nil {
		// A permit was lost while we collected the others.
		l.Release(ctx)
		return nil, &gateLost{err}
	}
	return l, nil
}

// checkLimit stores the limit on the semaphore's node, or checks that the
// peers' agrees: peers that disagree would together admit more holders than
// either intends. The node is created here if need be, before the internal
// lock's queue would create it as an open container.
func (s *Semaphore) checkLimit(ctx context.Context) error {
	ep, err := s.m.Epoch(ctx)
	if err != nil {
		return recipes.SessionError(err)
	}
	ours := []byte(strconv.Itoa(s.max))
	for {
		data, stat, err := ep.Get(ctx, s.path)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			s.rooted.Store(false)
			if err := s.create(ctx, ep, ours); err != nil {
				return err
			}
			continue
		case errors.Is(err, session.ErrConnectionLoss):
			continue
		case err != nil:
			return recipes.SessionError(err)
		}
		s.rooted.Store(true)
		if len(data) > 0 {
			stored, ok := parseLimit(data)
			switch {
			case !ok:
				return fmt.Errorf("%w: %s holds %q, not a semaphore's limit", recipes.ErrInvalidPath, s.path, truncate(data))
			case stored == s.max:
				return nil
			case !s.changeLimit:
				return fmt.Errorf("%w: %s allows %d permits, this client %d", recipes.ErrLimitMismatch, s.path, stored, s.max)
			}
		}
		_, err = ep.Set(ctx, s.path, ours, stat.Version)
		if errors.Is(err, zk.ErrBadVersion) || errors.Is(err, session.ErrConnectionLoss) {
			continue // someone else wrote meanwhile: read again
		}
		return recipes.SessionError(err)
	}
}

// parseLimit reads a limit as the semaphore stores it: a positive decimal
// number, the convention kazoo's Semaphore shares.
func parseLimit(data []byte) (int, bool) {
	n, err := strconv.Atoi(string(data))
	return n, err == nil && n > 0
}

func truncate(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}
