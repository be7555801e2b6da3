package semaphore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zkcoord/zkcoord/recipes"
)

// Lease is one acquisition of n permits. It is lost as a whole when any of
// its permits is.
type Lease struct {
	permits []*recipes.Lease
	ctx     context.Context
	cancel  context.CancelCauseFunc
	once    sync.Once
	err     error

	mu       sync.Mutex
	released bool
	watchers sync.WaitGroup
}

func newLease(permits []*recipes.Lease) *Lease {
	ctx, cancel := context.WithCancelCause(context.Background())
	l := &Lease{permits: permits, ctx: ctx, cancel: cancel}
	for _, p := range permits {
		l.watchers.Add(1)
		go func() {
			defer l.watchers.Done()
			select {
			case <-p.Done():
				l.finish(p.Err())
			case <-ctx.Done():
			}
		}()
	}
	return l
}

func (l *Lease) finish(err error) {
	l.once.Do(func() {
		l.err = err
		l.cancel(err)
	})
}

// Permits is how many permits the lease holds.
func (l *Lease) Permits() int { return len(l.permits) }

// Token is the fencing token of the acquisition: the largest of its
// permits'. Acquisitions are confirmed one at a time, so it increases
// strictly from one acquisition to the next.
func (l *Lease) Token() int64 { return l.permits[len(l.permits)-1].Token() }

// Done closes when any permit is lost or the lease is released.
func (l *Lease) Done() <-chan struct{} { return l.ctx.Done() }

// Context is cancelled when Done closes.
func (l *Lease) Context() context.Context { return l.ctx }

// Err is nil while held, recipes.ErrReleased after Release, or the
// *recipes.LostError of the first permit lost.
func (l *Lease) Err() error {
	select {
	case <-l.ctx.Done():
		return l.err
	default:
		return nil
	}
}

// Release returns every permit. A second call, or one after loss, reports
// recipes.ErrNotHeld.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	again := l.released
	l.released = true
	l.mu.Unlock()
	if again {
		return fmt.Errorf("%w: already released", recipes.ErrNotHeld)
	}
	lost := l.Err()
	l.finish(recipes.ErrReleased)
	l.watchers.Wait()
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
