package semaphore

import (
	"context"

	"github.com/zkcoord/zkcoord/recipes"
)

// Status is who holds permits and who waits for them, in order.
type Status struct {
	Holders []recipes.Participant // one entry per permit held
	Waiters []recipes.Participant // the internal lock's queue: its head is collecting permits
}

// Status reads the semaphore, including nodes written by Curator's
// InterProcessSemaphoreV2.
func (s *Semaphore) Status(ctx context.Context) (Status, error) {
	leases, err := s.leases.Participants(ctx)
	if err != nil {
		return Status{}, err
	}
	waiters, err := s.gate.Participants(ctx)
	if err != nil {
		return Status{}, err
	}
	held := min(len(leases), s.max)
	return Status{Holders: leases[:held], Waiters: waiters}, nil
}
