package fence

import (
	"errors"
	"fmt"
)

var (
	// ErrStale matches a *StaleError: the token is lower than the highest
	// the resource has seen, so its holder lost the lock to a newer one.
	ErrStale = errors.New("fence: stale token")

	// ErrInvalidToken: a token ≤ 0. Tokens are ZooKeeper zxids, which
	// are positive; a zero usually means a lease that was never acquired.
	ErrInvalidToken = errors.New("fence: invalid token")

	// ErrInvalidArgument: an empty resource name, a table or column name
	// that is not a plain SQL identifier, a nil database, ...
	ErrInvalidArgument = errors.New("fence: invalid argument")

	// ErrUnknownResource: the resource has never been fenced (Highest),
	// or the row a Row.Update names does not exist. A first Do or Check
	// on a resource is not an error: it registers the resource.
	ErrUnknownResource = errors.New("fence: unknown resource")

	// ErrClosed: the *sql.DB was closed.
	ErrClosed = errors.New("fence: database closed")
)

// StaleError is a write refused because its token is below the highest the
// resource has seen. Nothing of the refused write was applied.
type StaleError struct {
	Resource string
	Token    int64 // the refused token
	Highest  int64 // the highest token the resource had accepted
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("fence: %s: stale token %d < highest %d: write refused", e.Resource, e.Token, e.Highest)
}

// Is makes errors.Is(err, ErrStale) true.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

func checkToken(resource string, token int64) error {
	if resource == "" {
		return fmt.Errorf("%w: empty resource name", ErrInvalidArgument)
	}
	if token <= 0 {
		return fmt.Errorf("%w: %s: token %d (tokens are ZooKeeper zxids, > 0)", ErrInvalidToken, resource, token)
	}
	return nil
}
