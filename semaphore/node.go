package semaphore

import (
	"context"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// create makes the semaphore's node, storing limit, with the recipe's ACL.
// It is persistent, not a container: a container vanishes once idle, and
// the limit with it, so peers that never overlap (the old and new versions
// of a rolling deploy) could not learn that they disagree. Missing
// ancestors are created open, as containers, as a recipe's queue creates
// them; they hold the semaphore's node, so the server keeps them.
func (s *Semaphore) create(ctx context.Context, ep *session.Epoch, limit []byte) error {
	return recipes.MakePath(ctx, ep, s.path, recipes.NodeSpec{Persistent: true, ACL: s.acl, Data: limit}, recipes.NodeSpec{})
}
