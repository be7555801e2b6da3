package election

import (
	"context"
	"errors"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// retryable reports whether a failed read should simply be made again: the
// connection dropped (the next request waits for it) or the session ended
// (the next one is asked for).
func retryable(ctx context.Context, ep *session.Epoch, err error) bool {
	if ctx.Err() != nil || errors.Is(err, session.ErrClosed) {
		return false
	}
	return errors.Is(err, session.ErrConnectionLoss) || ep.Err() != nil
}

// permanent reports a campaign error that campaigning again cannot cure.
func permanent(err error) bool {
	return errors.Is(err, recipes.ErrClosed) || errors.Is(err, recipes.ErrInvalidPath) ||
		errors.Is(err, recipes.ErrInvalidArgument) || errors.Is(err, zk.ErrNoAuth)
}
