package mutex_test

import (
	"testing"

	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/mutex"
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

func dirFor(t testing.TB) string { return testutil.Dir(t, "mutex") }

func newMutex(t testing.TB, m *session.Manager, dir string, opts ...mutex.Option) *mutex.Mutex {
	t.Helper()
	mu, err := mutex.New(m, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mu
}
