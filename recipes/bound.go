package recipes

import (
	"context"
	"time"
)

// bound is a context with the lease's cancellation and the caller's
// values and deadline.
//
// Work done under a lease must stop the moment the lease is lost, and the
// lease signals its loss synchronously, in the call that ends the session's
// epoch (session.Epoch.OnEnd): a context whose
// parent is the lease's own is cancelled in that same call (the context
// package propagates a cancelCtx parent's cancellation to its children
// directly, finding it through Value), whereas context.AfterFunc would
// signal it later, from a goroutine of its own.
type bound struct {
	context.Context                 // the lease's context: Done, Err
	values          context.Context // the caller's: values and deadline
}

// Value answers from the lease's context first, which holds nothing but
// the context package's own key, then from the caller's.
func (b bound) Value(key any) any {
	if v := b.Context.Value(key); v != nil {
		return v
	}
	return b.values.Value(key)
}

func (b bound) Deadline() (deadline time.Time, ok bool) { return b.values.Deadline() }

// WithLease returns a context that ends when the lease's does (at once, see
// bound) or when ctx does, with ctx's values; stop releases it.
func WithLease(ctx, lease context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancelCause(bound{Context: lease, values: ctx})
	detach := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	var stopDeadline context.CancelFunc = func() {}
	if d, ok := ctx.Deadline(); ok {
		c, stopDeadline = context.WithDeadline(c, d)
	}
	return c, func() {
		detach()
		stopDeadline()
		cancel(context.Canceled)
	}
}
