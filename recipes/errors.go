package recipes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zkcoord/zkcoord/session"
)

// Sentinel errors shared by every recipe. Match them with errors.Is: the
// recipes return them wrapped (fmt.Errorf("%w: ...")) or inside the typed
// errors below, never bare when there is more to say.
var (
	// ErrInvalidPath is returned, inside a *PathError, by ValidatePath and by
	// every recipe constructor given a path that ZooKeeper would refuse or
	// that cannot hold a recipe (the root, the /zookeeper subtree, ...).
	ErrInvalidPath = errors.New("zkcoord: invalid path")

	// ErrInvalidArgument is returned, wrapped with the argument at fault, when
	// a constructor or call gets a value it cannot work with: a limit or
	// permit count ≤ 0, a nil session manager, an empty marker.
	ErrInvalidArgument = errors.New("zkcoord: invalid argument")

	// ErrNotHeld is returned by Release/Unlock (and by guarded writes) on a
	// handle that does not hold the lock any more: it was already released,
	// or ownership was lost before the call.
	ErrNotHeld = errors.New("zkcoord: not held")

	// ErrLost is matched by a *LostError: ownership can no longer be
	// guaranteed (the session's epoch ended: expiry, safe deadline or Close;
	// or our contender node was deleted by someone else). A handle's Err
	// reports it once its Done channel is closed.
	ErrLost = errors.New("zkcoord: lost")

	// ErrClosed is returned by any call made after the session manager or the
	// recipe it goes through has been closed.
	ErrClosed = errors.New("zkcoord: closed")

	// ErrLimitMismatch is returned by a semaphore whose permit count differs
	// from the one its peers recorded on the semaphore's node: peers that
	// disagree on the limit would together admit more holders than either
	// intends.
	ErrLimitMismatch = errors.New("zkcoord: limit mismatch")

	// ErrUpgrade is returned by a read-write lock when a caller that holds
	// the read lock asks for the write lock. The write lock waits for every
	// reader ahead of it, including the caller's own read lock, so the
	// upgrade could never succeed; it is refused at once (Curator's
	// InterProcessReadWriteLock documents the same limit, but blocks forever).
	ErrUpgrade = errors.New("zkcoord: read lock cannot be upgraded to write lock")
)

// PathError reports a path that ValidatePath refused. It matches
// ErrInvalidPath with errors.Is.
type PathError struct {
	Path   string // the path as given
	Reason string // why it was refused, e.g. "empty segment (//) at byte 4"
}

// maxPathInError bounds how much of a refused path an error message quotes:
// an over-long path must not turn into an over-long log line.
const maxPathInError = 128

func (e *PathError) Error() string {
	p := e.Path
	if len(p) > maxPathInError {
		p = p[:maxPathInError] + "..."
	}
	return fmt.Sprintf("zkcoord: invalid path %q: %s", p, e.Reason)
}

// Is reports whether target is ErrInvalidPath.
func (e *PathError) Is(target error) bool { return target == ErrInvalidPath }

// LostError reports that ownership of a lock, lease or leadership was lost,
// and why. It matches ErrLost with errors.Is, and unwraps to its Cause, so
// that errors.Is(err, session.ErrExpired) (or context.Canceled, ...) works
// through it.
type LostError struct {
	Cause error // why ownership ended; may be nil when unknown
}

func (e *LostError) Error() string {
	if e.Cause == nil {
		return ErrLost.Error()
	}
	// The cause usually carries the same "zkcoord: " prefix; say it once.
	return ErrLost.Error() + ": " + strings.TrimPrefix(e.Cause.Error(), "zkcoord: ")
}

// Is reports whether target is ErrLost. Matching the cause is left to
// Unwrap.
func (e *LostError) Is(target error) bool { return target == ErrLost }

// Unwrap returns the cause of the loss.
func (e *LostError) Unwrap() error { return e.Cause }

// SessionError puts an error from the session package in the recipes'
// terms: the manager closed is ErrClosed, the session ended (expired, or out
// of touch past its safe deadline) is a *LostError; anything else, a
// connection loss or a ZooKeeper error, comes back as it is. Every recipe
// returns session errors through it.
func SessionError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, session.ErrClosed) && !errors.Is(err, ErrClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, session.ErrExpired), errors.Is(err, session.ErrSafeDeadline):
		if errors.Is(err, ErrLost) {
			return err
		}
		return &LostError{Cause: err}
	}
	return err
}

// lost is the *LostError for cause. A loss caused by the manager's Close
// matches ErrClosed too, as every other error after Close does.
func lost(cause error) *LostError {
	if errors.Is(cause, session.ErrClosed) && !errors.Is(cause, ErrClosed) {
		cause = fmt.Errorf("%w: %w", ErrClosed, cause)
	}
	return &LostError{Cause: cause}
}
