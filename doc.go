// Package zkcoord is a library of ZooKeeper coordination recipes for Go:
// fair mutexes, read-write locks, counting semaphores and leader election,
// sharing one session manager.
//
// Start with package session (one Manager per process), then the recipe you
// need, such as package mutex. Every acquisition carries a fencing token
// and a loss signal that fires before any other client can take over; the
// nodes follow Apache Curator's layout so Go, Java and Python services can
// share a lock. Package zktest runs real ZooKeeper for tests, with fault
// injection.
package zkcoord
