package recipes

import (
	"fmt"
	"time"
)

// WaitError reports an acquisition whose context ended first: where it
// waited, for how long, and how far back in the queue. It unwraps to the
// context's error, so errors.Is(err, context.DeadlineExceeded) holds.
type WaitError struct {
	Path   string        // the queue's directory
	Waited time.Duration // from the call until it gave up
	// Ahead is how many contenders were ahead of ours in the last listing,
	// or -1 when the context ended before our node was listed (while
	// connecting, or creating the node).
	Ahead int
	Err   error // the context's error
}

func (e *WaitError) Error() string {
	where := "before joining the queue"
	if e.Ahead >= 0 {
		where = fmt.Sprintf("with %d ahead in the queue", e.Ahead)
	}
	return fmt.Sprintf("zkcoord: gave up on %s after %v, %s: %v", e.Path, e.Waited.Round(time.Microsecond), where, e.Err)
}

// Unwrap returns the context's error.
func (e *WaitError) Unwrap() error { return e.Err }

func (q *Queue) waitError(err error, start time.Time, ahead int) *WaitError {
	return &WaitError{Path: q.dir, Waited: time.Since(start), Ahead: ahead, Err: err}
}
