package semaphore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

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
	data        []byte
	changeLimit bool
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

// WithACL sets the ACL of the semaphore's nodes and directories.
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
// written until the first acquisition, which stores the limit on path (or
// checks it against the one stored there).
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
	leases.Observe("semaphore", o.observer)
	return &Semaphore{m: m, path: path, max: maxLeases, gate: gate, leases: leases,
		data: []byte(o.identity), changeLimit: o.changeLimit}, nil
}

// Acquire takes n permits at once, all or none, waiting until ctx ends.
func (s *Semaphore) Acquire(ctx context.Context, n int) (*Lease, error) {
	return s.acquire(ctx, n, false)
}

// TryAcquire takes n permits only if they are free and nobody waits ahead,
// and otherwise returns recipes.ErrWouldBlock at once.
func (s *Semaphore) TryAcquire(ctx context.Context, n int) (*Lease, error) {
	return s.acquire(ctx, n, true)
}

var errGateLost = errors.New("semaphore's internal lock lost")

func (s *Semaphore) acquire(ctx context.Context, n int, try bool) (*Lease, error) {
	if n <= 0 || n > s.max {
		return nil, fmt.Errorf("%w: %d permits of %d", recipes.ErrInvalidArgument, n, s.max)
	}
	for {
		l, err := s.acquireOnce(ctx, n, try)
		if errors.Is(err, errGateLost) && ctx.Err() == nil {
			continue // the session ended under us while waiting: queue again
		}
		return l, err
	}
}

// acquireOnce holds the internal lock while it collects the permits, so
// that only one contender at a time waits on the lease directory.
func (s *Semaphore) acquireOnce(ctx context.Context, n int, try bool) (*Lease, error) {
	gate, err := s.gate.Acquire(ctx, recipes.MarkerLock, s.data, recipes.Exclusive, try)
	if err != nil {
		return nil, err
	}
	defer gate.Release(context.WithoutCancel(ctx))
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(gate.Context(), func() { cancel(errGateLost) })
	defer stop()

	if err := s.checkLimit(wctx); err != nil {
		return nil, s.cause(wctx, err)
	}
	var permits []*recipes.Lease
	for range n {
		p, err := s.leases.Acquire(wctx, recipes.MarkerLease, s.data, recipes.Limit(s.max), try)
		if err != nil {
			for _, p := range permits {
				p.Release(context.WithoutCancel(ctx))
			}
			return nil, s.cause(wctx, err)
		}
		permits = append(permits, p)
	}
	return newLease(permits), nil
}

// cause reports the internal lock's loss rather than the cancellation it
// caused.
func (s *Semaphore) cause(wctx context.Context, err error) error {
	if errors.Is(context.Cause(wctx), errGateLost) {
		return errGateLost
	}
	return err
}

// checkLimit stores the limit on the semaphore's node, or checks that the
// peers' agrees: peers that disagree would together admit more holders than
// either intends. The node exists: it is the internal lock's parent.
func (s *Semaphore) checkLimit(ctx context.Context) error {
	ep, err := s.m.Epoch(ctx)
	if err != nil {
		return err
	}
	ours := []byte(strconv.Itoa(s.max))
	for {
		data, stat, err := ep.Get(ctx, s.path)
		if errors.Is(err, session.ErrConnectionLoss) {
			continue
		}
		if err != nil {
			return err
		}
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
		return err
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
