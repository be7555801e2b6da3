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
	"github.com/zkcoord/zkcoord/zktest"
)

// A session timeout the tests' healthy clients never come near, and a
// short one for clients a test cuts off on purpose.
const (
	healthy = 8 * time.Second
	short   = time.Second
)

func dirFor(t *testing.T) string {
	return "/zkcoord-test/rwlock/" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
}

func manager(t *testing.T, servers []string, timeout time.Duration) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: servers, SessionTimeout: timeout, Logger: testutil.Logger(), Identity: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newRW(t *testing.T, m *session.Manager, dir string, opts ...rwlock.Option) *rwlock.RWLock {
	t.Helper()
	rw, err := rwlock.New(m, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return rw
}

// clean checks, while the sessions are still open, that nothing of ours
// is left on the servers: no node under dir, no watch by these sessions.
func clean(t *testing.T, c *zktest.Cluster, dir string, ms ...*session.Manager) {
	t.Helper()
	var ids []int64
	for _, m := range ms {
		if ep := m.Current(); ep != nil && ep.Alive() {
			ids = append(ids, ep.SessionID())
		}
	}
	c.CheckClean(t, dir, ids...)
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
