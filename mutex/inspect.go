package mutex

import (
	"context"

	"github.com/zkcoord/zkcoord/recipes"
)

// Status is who holds the mutex and who waits, in order.
type Status struct {
	Holder  *recipes.Participant // nil when free
	Waiters []recipes.Participant
}

// Status reads the queue, including nodes written by Curator's
// InterProcessMutex and kazoo's Lock.
func (mu *Mutex) Status(ctx context.Context) (Status, error) {
	ps, err := mu.q.Participants(ctx)
	if err != nil || len(ps) == 0 {
		return Status{}, err
	}
	return Status{Holder: &ps[0], Waiters: ps[1:]}, nil
}
