package session

import "time"

// State is the manager's view of its ZooKeeper session.
type State int

const (
	// Connecting: no session yet, or the last one ended; attempts are under way.
	Connecting State = iota
	// Connected: a live session with a working connection.
	Connected
	// Suspended: the connection broke but the session may still be alive;
	// the epoch lives until it reconnects or the safe deadline passes.
	Suspended
	// Expired: the epoch ended (the server expired it, or the safe deadline
	// passed); a new session is being established.
	Expired
	// Closed: Close was called. Final.
	Closed
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Suspended:
		return "suspended"
	case Expired:
		return "expired"
	case Closed:
		return "closed"
	}
	return "unknown"
}

// Change is one state transition, delivered to subscribers in order.
type Change struct {
	State State
	// Epoch is the epoch the change is about: the new one for Connected,
	// the one that ended for Expired, nil while Connecting.
	Epoch *Epoch
	// Attempt counts session attempts since the last live epoch (Connecting only).
	Attempt int
	// Err says why an epoch ended (Expired, Closed): ErrExpired,
	// ErrSafeDeadline or ErrClosed.
	Err error
	At  time.Time
}
