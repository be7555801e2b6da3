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
// never adopted), lists the queue in the same round trip as the create,
// watches exactly one node with a data watch (which, unlike an exists
// watch, leaves nothing behind when the node is already gone), decides
// again after every wake-up and every reconnect, and deletes its node on
// any failure, waiting through a disconnection if it must.
//
// A successful acquisition is a Lease: a fencing token (the directory's
// pzxid read when the acquisition was confirmed), a Done channel and a
// Context that end before anyone else can acquire, guarded writes, and
// Release.
package recipes
