// Package recipes is the contender queue every zkcoord recipe is built from.
//
// A recipe (mutex, read-write lock, semaphore, leader election) is a
// directory of contender nodes plus a rule. Each contender creates an
// EPHEMERAL_SEQUENTIAL child "_c_<uuid>-<marker><seq>" under the directory;
// the children are listed, kept when they end in a known marker and a
// ZooKeeper sequence (ParseContender, SortContenders), sorted by sequence,
// and the recipe's Rule (Exclusive, Shared, FirstN) says whether a contender
// holds or which single earlier node it must watch.
//
// The server-independent parts live here and are tested without ZooKeeper:
// path validation (ValidatePath, Join, Parent, Base), node names and
// protected ids (NewProtectedID, ProtectedPrefix, FindByProtectedID), the
// decision rules, and the errors every recipe returns (ErrInvalidPath,
// ErrLost, ...). The names follow Apache Curator's layout, so Go, Java
// (Curator) and Python (kazoo) clients can share one lock.
//
// Queue runs the algorithm against a session.Manager: it creates our node
// with Curator's protection (after a create whose outcome is unknown, the
// node is found by its id, and one owned by another session is deleted,
// never adopted), lists the queue in the same round trip as the create (or,
// when others of the process join the same queue at once, shares one
// listing with them), watches exactly one node with a data watch (which,
// unlike an exists watch, leaves nothing behind when the node is already
// gone), and deletes its node on any failure, waiting through a
// disconnection if it must.
//
// A wake-up costs no round trip when the watched node's deletion decides
// it: the waiter takes over on the notification alone (handoff.go says why
// that grants nothing a listing would refuse). That is the case when the
// watched node headed the queue in our listing, or was marked: a lock
// holder that heads the queue with others behind it writes its own bytes
// back to its node once (version 0 to 1), which its waiter, already
// watching, hears while the lock is held, off the handoff's path. Anything
// else (a waiter ahead giving up, a reconnect) sends the waiter back to a
// listing, shared with whoever else of the process lists at that moment.
//
// A successful acquisition is a Lease: a fencing token (the czxid of its
// own node, which no lagging server can misreport), a Done channel and a
// Context that end before anyone else can acquire, guarded writes, and
// Release. A context bounds every call that takes one: what is left to
// clean up when it ends (a node whose create's outcome is still unknown, a
// delete during a partition) is finished in the background, and ends with
// the session at the latest. Observers hear of every acquisition, release
// and loss from a goroutine of their own, never on those paths.
package recipes
