// Package semaphore is a fair counting semaphore across processes, on
// ZooKeeper: at most N permits held at once, acquisitions served in order.
//
// It shares Curator's InterProcessSemaphoreV2 layout: a fair internal
// mutex in <path>/locks admits one acquirer at a time, which creates its
// permit nodes in <path>/leases and waits until they are among the first N.
// Only that one acquirer watches the lease directory, so a release wakes one
// waiter however many queue.
//
// The limit is stored on <path>, a persistent node that stays when the
// semaphore is idle: a client that opens the semaphore with a different
// one gets recipes.ErrLimitMismatch, even long after the last peer with
// the old limit went away, unless it asks to change it (WithLimitChange).
// A permit held by a process that crashes returns when its session ends.
//
// Each acquisition's token is the czxid of its last permit's node: above
// every earlier acquisition's, and different from every other permit held
// at the same time.
package semaphore
