package rwlock_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/session"
)

// The helpers every recipe's tests share.
const (
	healthy = testutil.Healthy
	short   = testutil.Short
)

var (
	manager    = testutil.Manager
	within     = testutil.Within
	eventually = testutil.Eventually
	clean      = testutil.Clean
)

func dirFor(t *testing.T) string { return testutil.Dir(t, "rwlock") }

func newRW(t *testing.T, m *session.Manager, dir string, opts ...rwlock.Option) *rwlock.RWLock {
	t.Helper()
	rw, err := rwlock.New(m, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return rw
}

// queued waits until the lock's queue has the given numbers of holders and
// waiters, and returns that status.
func queued(t *testing.T, ctx context.Context, rw *rwlock.RWLock, holders, waiters int) rwlock.Status {
	t.Helper()
	var st rwlock.Status
	eventually(t, 10*time.Second, fmt.Sprintf("queue of %d holders and %d waiters", holders, waiters), func() bool {
		var err error
		st, err = rw.Status(ctx)
		return err == nil && len(st.Holders) == holders && len(st.Waiters) == waiters
	})
	return st
}

// kinds spells a queue as "RRW..." for messages and comparisons.
func kinds(ps []rwlock.Participant) string {
	var b strings.Builder
	for _, p := range ps {
		switch p.Kind {
		case rwlock.Read:
			b.WriteByte('R')
		case rwlock.Write:
			b.WriteByte('W')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// seqOf is the sequence number of a lease's node, or -1 if its name is
// not a contender's (the caller reports it).
func seqOf(path string) int64 {
	c, ok := recipes.ParseContender(recipes.Base(path), recipes.RWLockMarkers()...)
	if !ok {
		return -1
	}
	return c.Seq
}
