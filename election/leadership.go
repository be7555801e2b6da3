package election

import (
	"context"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
)

// Leadership is one term as leader, from Campaign until Resign or loss.
type Leadership struct {
	lease    *recipes.Lease
	identity string
}

// Token is the term's fencing token: strictly greater than every earlier
// leader's, in any process. Hand it to whatever the leader writes to, and
// have that refuse tokens below the highest it has seen: a leader that
// paused (GC, a stopped VM) may act after its term ended without knowing.
func (l *Leadership) Token() int64 { return l.lease.Token() }

// Path is the leader's node; observers report its last segment as
// Participant.Name.
func (l *Leadership) Path() string { return l.lease.Path() }

// Done closes when the term ends: resigned, or lost, in which case it
// closes before any other candidate can be elected.
func (l *Leadership) Done() <-chan struct{} { return l.lease.Done() }

// Context is cancelled when Done closes, for work that must stop with the
// term; context.Cause says why.
func (l *Leadership) Context() context.Context { return l.lease.Context() }

// Err is nil while leading, recipes.ErrReleased after Resign, or a
// *recipes.LostError saying why the term ended.
func (l *Leadership) Err() error { return l.lease.Err() }

// Resign ends the term and leaves the election, so the next candidate
// leads. It returns once the node is gone (waiting through a disconnection
// until the session's safe deadline at most). A second call, or one after
// the term was lost, returns recipes.ErrNotHeld.
func (l *Leadership) Resign(ctx context.Context) error { return l.lease.Release(ctx) }

// Proclaim publishes value (an address, a configuration version) to
// everyone who watches the election, without giving leadership up. The
// write is applied only while this term lasts, whatever this process
// believes: a deposed leader gets recipes.ErrNotHeld and observers never see
// its value. It replaces the value the term campaigned with; an empty value
// withdraws both.
//
// The value is stored in the election directory's own data, tagged with
// the name of the leader's node, not in the leader's node: a change there
// would stall a Curator successor (see the package documentation). Node
// name and value together must fit in recipes.MaxDataLen. To be observed
// with a value from the first instant of the term, campaign with it
// instead (CampaignWith).
func (l *Leadership) Proclaim(ctx context.Context, value []byte) error {
	data := encode(recipes.Base(l.Path()), value)
	if err := recipes.ValidateData(data); err != nil {
		return err
	}
	_, err := l.lease.Guard(ctx, &zk.SetDataRequest{Path: recipes.Parent(l.Path()), Data: data, Version: -1})
	return err
}

// Guard applies ops to ZooKeeper in one transaction that also checks this
// term still lasts; see recipes.Lease.Guard. The election directory's data
// is Proclaim's to write.
func (l *Leadership) Guard(ctx context.Context, ops ...any) ([]zk.MultiResponse, error) {
	return l.lease.Guard(ctx, ops...)
}
