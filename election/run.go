package election

import (
	"context"
	"errors"
	"fmt"

	"github.com/zkcoord/zkcoord/recipes"
)

// Run takes part in the election until ctx ends: it campaigns, calls fn
// while leading, resigns when fn returns, and campaigns again (Curator's
// LeaderSelector with autoRequeue); each campaign carries the value set by
// WithValue, if any. fn's context is cancelled when the term is lost (in
// the call that ends the term) or ctx ends, and carries the Leadership
// (FromContext), for its Token and Proclaim. fn must return once its context is done: Run returns
// only after fn has, leaving nothing running and no node behind.
//
// Nothing that goes wrong is dropped: handle receives, from Run's
// goroutine, the error fn returned, the loss of a term (a
// *recipes.LostError), and a campaign that failed and will be retried; it
// must not block for long. Not failures, and not reported: a context error
// fn returns because its context ended (the loss, reported, or the stop the
// caller asked for, says why), and the end of ctx, which Run returns.
//
// After a term that ended in an error, and after a failed campaign, Run
// waits before campaigning again, from 100ms doubling to 10s, so that a
// function that fails at once does not keep the election churning.
//
// Run returns ctx's error, or one that campaigning again would not cure:
// recipes.ErrClosed once the manager is closed, an invalid path (a
// directory under an ephemeral node), a lack of permission. fn and handle
// must not be nil (recipes.ErrInvalidArgument).
func (e *Election) Run(ctx context.Context, fn func(ctx context.Context) error, handle func(error)) error {
	if fn == nil || handle == nil {
		return fmt.Errorf("%w: Run needs a function and an error handler", recipes.ErrInvalidArgument)
	}
	pause := newPause()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := e.Campaign(ctx)
		if err != nil {
			if ctx.Err() != nil || permanent(err) {
				return err
			}
			handle(err)
			if err := pause.wait(ctx); err != nil {
				return err
			}
			continue
		}
		if err := e.term(ctx, l, fn); err != nil {
			handle(err)
			if err := pause.wait(ctx); err != nil {
				return err
			}
			continue
		}
		pause.reset()
	}
}

// term runs fn for one term and ends the term; it returns what there is
// to report of it.
func (e *Election) term(ctx context.Context, l *Leadership, fn func(context.Context) error) error {
	// fn's context ends with the term in the very call that ends the term
	// (see withLease): a leader cut off from the ensemble stops before
	// anyone else can be elected, not once a goroutine gets to it.
	lctx, stop := recipes.WithLease(ctx, l.Context())
	lctx = context.WithValue(lctx, leadershipKey{}, l)
	over := false
	end := func() error {
		over = true
		stop()
		lost := l.Err()
		err := l.Resign(context.WithoutCancel(ctx))
		if lost != nil {
			return lost // the loss is the news, not the refused resignation
		}
		return err
	}
	// If fn panics, the panic is the caller's to see, but the term must not
	// outlive it.
	defer func() {
		if !over {
			end()
		}
	}()
	ferr := fn(lctx)
	if lerr := lctx.Err(); lerr != nil && errors.Is(ferr, lerr) {
		ferr = nil
	}
	return errors.Join(ferr, end())
}

type leadershipKey struct{}

// FromContext returns the Leadership of the term whose context (as Run
// gives fn) ctx is or derives from, or nil.
func FromContext(ctx context.Context) *Leadership {
	l, _ := ctx.Value(leadershipKey{}).(*Leadership)
	return l
}
