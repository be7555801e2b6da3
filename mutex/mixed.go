package mutex

import (
	"errors"
	"fmt"

	"github.com/zkcoord/zkcoord/recipes"
)

// ErrMixedLayouts is wrapped by Status.Warning when one lock's queue holds
// both kazoo's contenders and contenders in Curator's layout.
var ErrMixedLayouts = errors.New("zkcoord: kazoo and Curator-layout contenders share one lock")

// Warning returns an error wrapping ErrMixedLayouts when the queue holds
// kazoo's contenders ("<hex>__lock__<seq>", "<hex>__rlock__<seq>") together
// with contenders in Curator's layout ("_c_<uuid>-lock-<seq>": zkcoord's own,
// Curator's InterProcessMutex, go-zookeeper's Lock), and nil otherwise.
//
// zkcoord and kazoo (given extra_lock_patterns=["-lock-"]) order every such
// contender by its sequence number, but Curator's InterProcessMutex orders a
// name without "lock-" in it by the whole name, so it puts kazoo's nodes
// after its own whatever their sequence: a Curator client then acquires
// while a kazoo client holds the lock. zkcoord's names cannot be told from
// Curator's, so the warning is given for any mix: the lock is safe only if
// no Curator client uses it while kazoo clients do.
func (s Status) Warning() error {
	var kazoo, curator string
	all := s.Waiters
	if s.Holder != nil {
		all = append([]recipes.Participant{*s.Holder}, s.Waiters...)
	}
	for _, p := range all {
		switch p.Marker {
		case recipes.MarkerKazooLock, recipes.MarkerKazooRead:
			if kazoo == "" {
				kazoo = p.Name
			}
		case recipes.MarkerLock:
			if curator == "" {
				curator = p.Name
			}
		}
	}
	if kazoo == "" || curator == "" {
		return nil
	}
	return fmt.Errorf("%w: kazoo's %s and %s; Curator's InterProcessMutex orders kazoo's nodes by name, not sequence, "+
		"so a Curator client would hold the lock together with a kazoo one: keep Curator clients off this lock, "+
		"or kazoo clients off it", ErrMixedLayouts, kazoo, curator)
}
