// Package rwlock is a fair read-write lock across processes, on ZooKeeper.
//
// Readers and writers queue together, in the order they ask, as
// EPHEMERAL_SEQUENTIAL nodes of one directory, in the layout of Curator's
// InterProcessReadWriteLock (_c_<uuid>-__READ__<seq> and
// _c_<uuid>-__WRIT__<seq>), so Go and Java services can share one lock. A
// reader holds as soon as no writer is ahead of it, and otherwise watches
// the nearest writer ahead; a writer holds once nobody is ahead of it, and
// otherwise watches the contender just before it. A release therefore wakes
// only those who can go. Readers that arrive while a writer waits queue
// behind that writer: a steady stream of readers cannot starve writers.
//
// RLock returns a ReadLease and Lock a WriteLease. Each has a Done channel
// and a Context that end before any other client can take over, Guard for
// writes to ZooKeeper that apply only while the lease is held, and a
// fencing Token:
//
//   - Every token is the czxid of the lease's own node, fixed when the
//     node is created, so no server's lag can make it repeat another's.
//   - A write token is strictly greater than every token, read or write,
//     of every lease held before the writer acquired, and strictly smaller
//     than every token of every lease acquired after it released.
//   - A read token is strictly greater than the token of every writer that
//     held before the reader acquired, and strictly smaller than the token
//     of every writer that holds after it. Readers that hold together have
//     different tokens, in the order they joined the queue, but are not
//     ordered by when they acquired.
//
// So a resource guarded by the lock checks a write against the highest
// token it has seen of either kind, and a read against the highest write
// token it has seen; checking reads against other reads would refuse
// readers that legitimately hold together.
//
// WriteLease.Downgrade turns a write lock into a read lock with no writer
// in between (it is refused if a writer already waits, see Downgrade). The
// opposite, upgrading a read lock, is refused with recipes.ErrUpgrade: the
// writer would wait for every reader ahead of it, its own read lock
// included, forever.
package rwlock
