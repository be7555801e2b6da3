package session

import "sync"

// queue is an unbounded FIFO whose push never blocks: go-zookeeper calls
// its event callback on its own goroutines and must not be held up, and a
// slow subscriber must not hold up the manager.
type queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{} // has a token while items is non-empty
}

func newQueue[T any]() *queue[T] { return &queue[T]{ready: make(chan struct{}, 1)} }

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// drain takes everything queued so far, in order.
func (q *queue[T]) drain() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
