package session

import "errors"

var (
	// ErrInvalidConfig is returned by New, before any network call, for a
	// Config that cannot work. The wrapped message names the field.
	ErrInvalidConfig = errors.New("zkcoord/session: invalid config")

	// ErrClosed is the cause once Close has been called.
	ErrClosed = errors.New("zkcoord/session: manager closed")

	// ErrExpired means the server reported that the session expired: its
	// ephemeral nodes are gone and other clients may already act on that.
	ErrExpired = errors.New("zkcoord/session: session expired")

	// ErrSafeDeadline means the client was out of touch with the ensemble
	// for so long that the server may expire the session at any moment.
	// The epoch ends before that instant, so that nothing the session held
	// is believed held once another client can take it.
	ErrSafeDeadline = errors.New("zkcoord/session: out of touch past the safe deadline")

	// ErrConnectionLoss means a request was sent but the connection broke
	// before its answer arrived: it may or may not have been applied.
	ErrConnectionLoss = errors.New("zkcoord/session: connection lost, outcome unknown")

	// ErrAuthFailed means the server refused the credentials in Config.Auth.
	ErrAuthFailed = errors.New("zkcoord/session: authentication failed")

	// ErrHandshake means no server completed a session handshake: none was
	// reachable, or each refused the connection (a TLS certificate, say)
	// or never answered it. New's error wraps it with the last cause.
	ErrHandshake = errors.New("zkcoord/session: no session handshake completed")

	// ErrNoEpoch is returned by operations on an Epoch that never became live.
	ErrNoEpoch = errors.New("zkcoord/session: no live session")
)
