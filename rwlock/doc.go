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
//   - A write token is strictly greater than every token, read or write,
//     of every lease held before the writer acquired, and strictly smaller
//     than every token of every lease acquired after it released.
//   - A read token is strictly greater than the token of every writer that
//     released before the reader acquired, and strictly smaller than the
//     token of every writer that acquires after it. Readers that hold
//     together are not ordered among themselves: they may share a token
//     (each is the lock directory's pzxid read when the reader confirmed
//     its acquisition, and readers that list the directory between the same
//     two changes read the same one), and a reader ahead in the queue may
//     get a larger token than one behind it.
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
