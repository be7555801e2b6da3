package mutex_test

import (
	"errors"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// After the manager's Close, a lease's error matches recipes.ErrClosed, as
// every other error after Close does, as well as the session's ErrClosed
// and ErrLost.
func TestLeaseErrAfterCloseMatchesErrClosed(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	l, err := newMutex(t, m, dir).Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	<-l.Done()
	err = l.Err()
	if !errors.Is(err, recipes.ErrClosed) || !errors.Is(err, session.ErrClosed) || !errors.Is(err, recipes.ErrLost) {
		t.Fatalf("lease after Close: %v", err)
	}
	if _, err := newMutex(t, m, dir).Lock(ctx); !errors.Is(err, recipes.ErrClosed) {
		t.Fatalf("Lock after Close: %v", err)
	}
	c.CheckClean(t, dir)
}
