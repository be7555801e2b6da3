package semaphore_test

import (
	"context"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
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
)

func dirFor(t testing.TB) string { return testutil.Dir(t, "semaphore") }

func newSemaphore(t testing.TB, m *session.Manager, dir string, max int, opts ...semaphore.Option) *semaphore.Semaphore {
	t.Helper()
	s, err := semaphore.New(m, dir, max, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func managerWithAuth(t *testing.T, c *zktest.Cluster, secret string) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers: c.Servers(), SessionTimeout: healthy, Logger: testutil.Logger(),
		Auth: []session.Auth{{Scheme: "digest", Secret: []byte(secret)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
