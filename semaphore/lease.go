package semaphore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zkcoord/zkcoord/recipes"
)

// Lease is one acquisition of n permits. It is lost as a whole when any of
// its permits is, in the call that ends that permit: when the session's
// epoch ends, before anyone else can take the permit.
type Lease struct {
	permits []*recipes.Lease
	ctx     context.Context
	cancel  context.CancelCauseFunc
	once    sync.Once
	stops   []func() bool

	mu       sync.Mutex
	released bool
}

func newLease(permits []*recipes.Lease) *Lease {
	ctx, cancel := context.WithCancelCause(context.Background())
	l := &Lease{permits: permits, ctx: ctx, cancel: cancel}
	stops := make([]func() bool, 0, len(permits))
	for _, p := range permits {
		stops = append(stops, p.OnEnd(l.finish))
	}
	l.mu.Lock()
	l.stops = stops
	l.mu.Unlock()
	return l
}

func (l *Lease) finish(err error) {
	l.once.Do(func() { l.cancel(err) })
}

// Permits is how many permits the lease holds.
func (l *Lease) Permits() int { return len(l.permits) }

// Token is the fencing token of the acquisition: the czxid of its last
// permit's node. Acquisitions create their permits one at a time, under
// the semaphore's internal lock, so every acquisition's token is above
// those of every acquisition before it, and leases held together have
// different tokens.
func (l *Lease) Token() int64 { return l.permits[len(l.permits)-1].Token() }

// Done closes when any permit is lost or the lease is released.
func (l *Lease) Done() <-chan struct{} { return l.ctx.Done() }

// Context is cancelled when Done closes.
func (l *Lease) Context() context.Context { return l.ctx }

// Err is nil while held, recipes.ErrReleased after Release, or the
// *recipes.LostError of the first permit lost. Like a permit's, it reads
// the clock: after a pause past the session's safe deadline it reports the
// loss from its first call, before the epoch's timer has run.
func (l *Lease) Err() error {
	if l.ctx.Err() == nil {
		for _, p := range l.permits {
			if p.Err() != nil { // which ends l through its OnEnd
				break
			}
		}
	}
	return context.Cause(l.ctx)
}

// Release returns every permit. It waits for their nodes' deletion until
// ctx ends, as recipes.Lease.Release does. A second call, or one after
// loss, reports recipes.ErrNotHeld.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	again := l.released
	l.released = true
	stops := l.stops
	l.mu.Unlock()
	if again {
		return fmt.Errorf("%w: already released", recipes.ErrNotHeld)
	}
	lost := l.Err()
	l.finish(recipes.ErrReleased)
	for _, stop := range stops {
		stop()
	}
	var errs []error
	for _, p := range l.permits {
		if err := p.Release(ctx); err != nil && !errors.Is(err, recipes.ErrNotHeld) {
			errs = append(errs, err)
		}
	}
	if lost != nil {
		return fmt.Errorf("%w: %w", recipes.ErrNotHeld, lost)
	}
	return errors.Join(errs...)
}
