package testutil

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Session timeouts for recipe tests: one healthy clients never come near,
// and a short one for clients a test cuts off on purpose.
const (
	Healthy = 8 * time.Second
	Short   = time.Second
)

// Dir is a recipe directory of the test's own, under /zkcoord-test/<recipe>.
func Dir(t testing.TB, recipe string) string {
	return "/zkcoord-test/" + recipe + "/" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
}

// Manager connects a session manager named after the test, closed when the
// test ends.
func Manager(t testing.TB, servers []string, timeout time.Duration) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: servers, SessionTimeout: timeout, Logger: Logger(), Identity: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Within is a context that ends after d or with the test.
func Within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Eventually polls cond until it holds, failing the test after d.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Clean checks, while the sessions are still open, that nothing of ours is
// left on the servers: no node under dir, no watch by these sessions.
func Clean(t testing.TB, c *zktest.Cluster, dir string, ms ...*session.Manager) {
	t.Helper()
	var ids []int64
	for _, m := range ms {
		if ep := m.Current(); ep != nil && ep.Alive() {
			ids = append(ids, ep.SessionID())
		}
	}
	c.CheckClean(t, dir, ids...)
}
