package semaphore

import (
	"context"
	"errors"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
)

// Status is who holds permits and who waits for them, in order.
type Status struct {
	// Limit is the limit stored on the semaphore's node, 0 when none is
	// (Curator's InterProcessSemaphoreV2 stores none).
	Limit int
	// Holders are the first Limit lease nodes (this client's limit when none
	// is stored): one entry per permit held.
	Holders []recipes.Participant
	// OverLimit are lease nodes beyond the limit: those of the waiter at the
	// head of the internal lock, collecting its permits, and, after the limit
	// was lowered, holders above it, which keep their permits until they
	// release them.
	OverLimit []recipes.Participant
	// Waiters are the internal lock's queue: its head is collecting permits.
	Waiters []recipes.Participant
}

// Status reads the semaphore, including nodes written by Curator's
// InterProcessSemaphoreV2. It writes nothing.
func (s *Semaphore) Status(ctx context.Context) (Status, error) {
	var st Status
	ep, err := s.m.Epoch(ctx)
	if err != nil {
		return st, err
	}
	data, _, err := ep.Get(ctx, s.path)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return st, err
	}
	if n, ok := parseLimit(data); ok {
		st.Limit = n
	}
	// Leases after the limit: the lease listing syncs first, so it is no
	// older than the limit read above.
	leases, err := s.leases.Participants(ctx)
	if err != nil {
		return st, err
	}
	if st.Waiters, err = s.gate.Participants(ctx); err != nil {
		return st, err
	}
	limit := st.Limit
	if limit == 0 {
		limit = s.max
	}
	held := min(len(leases), limit)
	st.Holders, st.OverLimit = leases[:held:held], leases[held:]
	return st, nil
}
