package election

import (
	"context"
	"errors"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
)

// Participant is one candidate as observers see it, whoever wrote it:
// zkcoord or Curator's LeaderLatch.
//
// Name, Identity, Since (when the candidate joined, server clock), Zxid
// (its node's czxid) and Session come from recipes.Participant. Zxid
// orders leaders: each leader's is strictly greater than its
// predecessors'. It is not the leader's fencing Token, which the leader
// alone learns when it is elected.
type Participant struct {
	recipes.Participant
	// Value is what the candidate publishes: for the leader, what it
	// proclaimed last, else the value it campaigned with; for a candidate
	// still waiting, the value it campaigned with. Nil if none.
	Value []byte
}

// Participants lists the candidates in order, the leader first, including
// Curator's. Like Leader, it is no older than anything another client has
// seen complete.
func (e *Election) Participants(ctx context.Context) ([]Participant, error) {
	ps, err := e.q.Participants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Participant, len(ps))
	for i, p := range ps {
		out[i] = Participant{Participant: p}
		out[i].Identity, out[i].Value = splitNode([]byte(p.Identity))
	}
	if len(out) == 0 {
		return out, nil
	}
	// A proclaimed value counts for the leader only, as Leader reports it.
	ep, err := e.q.Manager().Epoch(ctx)
	if err != nil {
		return nil, recipes.SessionError(err)
	}
	dirData, _, err := ep.Get(ctx, e.q.Dir())
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return nil, recipes.SessionError(err)
	}
	if v, ok := valueOf(dirData, out[0].Name); ok {
		out[0].Value = v
	}
	return out, nil
}
