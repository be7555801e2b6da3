package recipes

import (
	"fmt"
	"sync/atomic"
	"time"
)

// selfBlockWarnAfter is how long a waiter may wait for nothing but a lease
// of its own session before it says so. Waiting behind a lease of the same
// manager is normal when two goroutines share it; waiting on it for long is
// what a goroutine that locks twice looks like. A var for the tests.
var selfBlockWarnAfter = 5 * time.Second

// selfBlock warns, once per wait, when a waiter's only blocker has been a
// lease of its own session for selfBlockWarnAfter.
type selfBlock struct {
	t       *time.Timer
	watched string
	warned  atomic.Bool
}

// watch starts the clock for blocker, unless it already runs for it.
func (s *selfBlock) watch(n *node, blocker string) {
	if s.warned.Load() || (s.t != nil && s.watched == blocker) {
		return
	}
	s.stop()
	s.watched = blocker
	path, since := Join(n.q.dir, blocker), time.Now()
	s.t = time.AfterFunc(selfBlockWarnAfter, func() {
		s.warned.Store(true)
		n.q.m.Logger().Warn("zkcoord: waiting for a lease held by this same session; recipes are not reentrant, so if the waiting goroutine holds it, it waits forever",
			"path", n.q.dir, "waiter", n.name, "blocker", path,
			"waited", time.Since(since).Round(time.Millisecond), "session", fmt.Sprintf("0x%x", n.ep.SessionID()))
	})
}

// stop stops the clock: the blocker is gone, or another one blocks.
func (s *selfBlock) stop() {
	if s.t != nil {
		s.t.Stop()
		s.t = nil
	}
}
