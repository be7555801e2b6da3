// Package mutex is a fair lock across processes, on ZooKeeper.
//
// Contenders queue in the order they ask (EPHEMERAL_SEQUENTIAL nodes), each
// watches only the one before it, so a release wakes exactly one waiter
// however long the queue. The nodes follow Curator's InterProcessMutex
// layout (_c_<uuid>-lock-<seq>), and kazoo's __lock__ nodes are counted as
// contenders too, so Go, Java and Python services can share one lock.
//
// Lock returns a Lease. Its Token is a fencing token: pass it to whatever
// the lock protects and have that refuse tokens lower than the highest it
// has seen, because no lock can stop a holder that paused (GC, a stopped
// VM) from acting after it lost the lock. Its Done channel and Context end
// before any other client can acquire: act on them. Guard applies writes to
// ZooKeeper only while the lease is held.
package mutex
