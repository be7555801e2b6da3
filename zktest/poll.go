package zktest

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// permanentError stops poll: waiting longer cannot help.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// poll calls check every pollInterval until it returns nil, returns a
// permanent error, or ctx ends; then it returns check's last complaint, so a
// timeout says what was still wrong.
func poll(ctx context.Context, check func() error) error {
	start := time.Now()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if p, ok := errors.AsType[*permanentError](err); ok {
			return p.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %v: %w", ctx.Err(), time.Since(start).Round(time.Millisecond), err)
		case <-t.C:
		}
	}
}
