// Package session manages a process's ZooKeeper session, shared by every
// zkcoord recipe.
//
// A Manager connects to the ensemble and keeps a session alive: when one
// ends it establishes the next, with backoff, until Close. Each session is
// an Epoch. What a recipe creates belongs to the epoch it was created in,
// and an epoch's Done channel closes at the first of: the server expiring
// the session, Close, or the safe deadline.
//
// The safe deadline is what lets a lock holder cut off from the ensemble
// learn that it lost the lock before anyone else can take it. The server
// expires a session no sooner than one session timeout after it last heard
// from the client. The manager watches every frame on the wire and, since
// the server answers a session's requests in order, knows on the monotonic
// clock a time by which the server certainly heard from it: the send time
// of the k-th request when the k-th answer arrives. The epoch ends at that
// time plus the negotiated timeout, less Config.SafetyMargin.
//
// TLSDialer connects to ZooKeeper's secure client port. When no session can
// be established, New's error says why the last attempt failed (a
// certificate the client rejected, or one the server rejected), and the
// manager logs each failed attempt with its cause.
//
// Subscribe delivers every state change (Connecting, Connected, Suspended,
// Expired, Closed) in order, without a slow subscriber holding up anyone.
//
// It covers what go-zookeeper leaves open: events are taken through a
// callback into an unbounded ordered queue (its channel drops events),
// every request takes a context, each epoch has a client connection of its
// own (go-zookeeper would carry queued requests into the next session),
// waiters are told of reconnects (a failed re-send of watches is only
// logged by go-zookeeper), and Close waits for every goroutine.
package session
