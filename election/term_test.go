package election_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// The context Run gives fn ends in the same call that ends the session,
// as a lease's does: by the time the session's Done closes, fn's context is
// cancelled already, with the loss as its cause, not some moment later
// when a goroutine gets to it.
func TestRunTermEndsWithTheSession(t *testing.T) {
	c := zktest.Shared(t)
	for trial := range 5 {
		dir := dirFor(t)
		ctx := within(t, time.Minute)
		m := manager(t, c.Servers(), healthy)
		el := newElection(t, m, dir)
		type key struct{}
		terms := make(chan context.Context, 1)
		result := make(chan error, 1)
		go func() {
			result <- el.Run(context.WithValue(ctx, key{}, "v"), func(lctx context.Context) error {
				terms <- lctx
				<-lctx.Done()
				return lctx.Err()
			}, func(error) {})
		}()
		var lctx context.Context
		select {
		case lctx = <-terms:
		case <-time.After(30 * time.Second):
			t.Fatal("no term started")
		}
		if lctx.Value(key{}) != "v" {
			t.Errorf("fn's context lacks the value of Run's")
		}
		ep := m.Current()
		live := make(chan bool, 1)
		go func() {
			<-ep.Done()
			live <- lctx.Err() == nil
		}()
		m.Close()
		if <-live {
			t.Fatalf("trial %d: fn's context still live when the session's Done closed", trial)
		}
		if cause := context.Cause(lctx); !errors.Is(cause, recipes.ErrLost) {
			t.Errorf("trial %d: cause %v, want ErrLost", trial, cause)
		}
		if err := <-result; !errors.Is(err, recipes.ErrClosed) {
			t.Errorf("trial %d: Run returned %v, want ErrClosed", trial, err)
		}
	}
}
