package session

import "context"

type subscriber struct {
	q *queue[Change]
}

// Subscribe delivers every state change from now on, in order, starting
// with the current state. Delivery never blocks the manager: changes queue
// up for a slow reader. The channel closes after Closed is delivered or when
// ctx ends; read it until then, or cancel ctx, so its goroutine can return.
func (m *Manager) Subscribe(ctx context.Context) <-chan Change {
	s := &subscriber{q: newQueue[Change]()}
	out := make(chan Change)
	m.mu.Lock()
	s.q.push(Change{State: m.state, Epoch: m.epoch})
	if m.state != Closed {
		m.subs[s] = struct{}{}
	}
	m.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			m.mu.Lock()
			delete(m.subs, s)
			m.mu.Unlock()
		}()
		for {
			select {
			case <-s.q.ready:
			case <-ctx.Done():
				return
			}
			for _, c := range s.q.drain() {
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
				if c.State == Closed {
					return
				}
			}
		}
	}()
	return out
}
