package semaphore_test

import (
	"testing"

	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/semaphore"
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

func dirFor(t *testing.T) string { return testutil.Dir(t, "semaphore") }

func newSemaphore(t *testing.T, m *session.Manager, dir string, max int, opts ...semaphore.Option) *semaphore.Semaphore {
	t.Helper()
	s, err := semaphore.New(m, dir, max, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
