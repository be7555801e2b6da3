package mutex_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/mutex"
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
	return "/zkcoord-test/mutex/" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
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

func newMutex(t *testing.T, m *session.Manager, dir string, opts ...mutex.Option) *mutex.Mutex {
	t.Helper()
	mu, err := mutex.New(m, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mu
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
