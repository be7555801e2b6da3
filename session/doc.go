// Package session manages a process's ZooKeeper session, shared by every
// zkcoord recipe.
//
// A Manager connects to the ensemble and keeps a session alive: when one
// ends it establishes the next, with backoff, until Close. Each session is
// an Epoch. What a recipe creates belongs to the epoch it was created in,
// and an epoch's Done channel closes at the first of: the server expiring
// the session, Close, or the safe deadline.
//
// # The safe deadline
//
// The safe deadline is what lets a lock holder cut off from the ensemble
// learn that it lost the lock before anyone else can take it. Only the
// ensemble's leader expires sessions (SessionTrackerImpl), no sooner than one
// session timeout after it last touched the session. So the manager ends the
// epoch at the latest instant the leader is proven to have touched the
// session, plus the timeout, less Config.SafetyMargin; and it credits only
// what proves the leader's touch:
//
//   - A connect response. A new session is a transaction committed through
//     a quorum; a reconnection is revalidated with the leader
//     (Learner.validateSession), which touches the session.
//   - A chain of syncs. A follower answers its clients' pings and reads by
//     itself, and tells the leader which sessions it heard from only in its
//     replies to the leader's pings (Learner.ping, LearnerHandler). Cut off
//     from the leader, it keeps answering its clients for up to
//     syncLimit × tickTime (its read timeout on the leader) while the
//     leader's clock on those sessions runs; at ZooKeeper's shipped timings
//     (tickTime 2s, syncLimit 5) that is 10s, as long as a typical session.
//     A sync, by contrast, is forwarded to the leader and answered only after
//     the leader's answer comes back. The manager syncs every quarter tick,
//     one at a time; three syncs a, x, b on one connection, x sent a tick or
//     more after a's answer, prove that the leader pinged the follower in
//     between (Leader.lead pings every half tick), that the follower's reply
//     to that ping carried the touch of a, and that the leader read that
//     reply before b (the follower's packets reach the leader on one ordered
//     stream). See leaderProof for the argument in full.
//
// A leader cut off from its quorum answers its clients' syncs until it sees
// it has lost its followers, up to (syncLimit + 1) ticks after the cut,
// while its successor starts counting sessions afresh when it is elected,
// no sooner than syncLimit − ½ ticks after the cut. The chain's credit trails
// its answer by a tick, and so does a reconnection's; the margin, at least a
// tick, covers the remaining half tick and the clocks' drift.
//
// Hence the rules New enforces, with ErrInvalidConfig naming what would be
// safe: SafetyMargin ≥ tickTime (default: a quarter of the timeout, at
// least a tick), and SessionTimeout ≥ SafetyMargin + 2.75 × tickTime, since
// the proven instant trails the present by up to 1.75 ticks and a further
// tick is left for a late answer. At the shipped tickTime a 10s session
// qualifies (the shortest is 7.5s). Config.TickTime is learned from the
// servers' "conf" four-letter word when allowed, else taken as ZooKeeper's
// shipped 2s: set it when the ensemble's is longer.
//
// A session keeps at most 16 requests in flight (the rest wait in Go, each
// honouring its context), so that its own backlog never holds a heartbeat
// past the deadline's slack: the server answers a session in order.
//
// Deadlines are measured on a clock that counts time the host spends
// suspended (CLOCK_BOOTTIME on Linux): the server's clock runs on while a
// laptop sleeps or a VM is paused.
//
// The epoch ends in the call that passes the deadline, running the
// OnEnd hooks (a lease's loss signal) and closing Done before anything
// that can block: logging and subscribers come after, from a queue.
//
// # Connections
//
// TLSDialer connects to ZooKeeper's secure client port. When no session can
// be established, New's error says why the last attempt failed (a
// certificate the client rejected, or one the server rejected), matchable
// with ErrHandshake, ErrAuthFailed or the context's error.
//
// Subscribe delivers every state change (Connecting, Connected, Suspended,
// Expired, Closed) in order, without a slow subscriber holding up anyone.
//
// It covers what go-zookeeper v1.0.4 leaves open, each workaround listed
// with the upstream issue it covers in upstream.go: events are taken through
// a callback into an unbounded ordered queue (its channel drops events),
// every request takes a context, each epoch has a client connection of its
// own (go-zookeeper would carry queued requests into the next session),
// waiters are told of reconnects (a failed re-send of watches is only
// logged by go-zookeeper), and Close waits for every goroutine.
package session
