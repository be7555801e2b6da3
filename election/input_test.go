package election_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

func TestBadInput(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	for _, p := range []string{"", "relative", "/", "/a/", "/a//b", "/a/../b", "/zookeeper/x", "/a\x00b"} {
		if _, err := election.New(m, p); !errors.Is(err, recipes.ErrInvalidPath) {
			t.Errorf("New(%q): %v, want ErrInvalidPath", p, err)
		}
	}
	if _, err := election.New(nil, dir); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("nil manager: %v", err)
	}
	if _, err := election.New(m, dir, election.WithIdentity(strings.Repeat("x", 2<<20))); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("2 MiB identity: %v", err)
	}
	if _, err := election.New(m, dir, nil); err != nil {
		t.Errorf("nil option: %v", err)
	}
	el := newElection(t, m, dir)
	if err := el.Run(ctx, nil, func(error) {}); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("Run without a function: %v", err)
	}
	if err := el.Run(ctx, func(context.Context) error { return nil }, nil); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("Run without a handler: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := el.Campaign(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Campaign with a cancelled context: %v", err)
	}
	c.CheckClean(t, dir)

	// After resignation and after loss: typed errors, and nothing written.
	l := lead(t, ctx, el)
	if err := l.Proclaim(ctx, make([]byte, recipes.MaxDataLen)); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("oversized Proclaim: %v", err)
	}
	if err := l.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Resign(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		t.Errorf("second Resign: %v", err)
	}
	if err := l.Proclaim(ctx, []byte("x")); !errors.Is(err, recipes.ErrNotHeld) {
		t.Errorf("Proclaim after Resign: %v", err)
	}
	l = lead(t, ctx, el)
	ep, _ := m.Epoch(ctx)
	if err := ep.Delete(ctx, l.Path(), -1); err != nil {
		t.Fatal(err)
	}
	<-l.Done()
	if err := l.Proclaim(ctx, []byte("x")); !errors.Is(err, recipes.ErrNotHeld) || !errors.Is(err, recipes.ErrLost) {
		t.Errorf("Proclaim after loss: %v", err)
	}
	if err := l.Resign(ctx); !errors.Is(err, recipes.ErrNotHeld) || !errors.Is(err, recipes.ErrLost) {
		t.Errorf("Resign after loss: %v", err)
	}
	if ok, _, _ := ep.Exists(ctx, l.Path()); ok {
		t.Error("Proclaim after loss recreated the node")
	}
	clean(t, c, dir, m)

	// A closed manager: every call says so, and Observe closes its channel.
	closed := manager(t, c.Servers(), healthy)
	cel := newElection(t, closed, dir)
	closed.Close()
	if _, err := cel.Campaign(ctx); !errors.Is(err, recipes.ErrClosed) {
		t.Errorf("Campaign on a closed manager: %v", err)
	}
	if _, err := cel.Leader(ctx); !errors.Is(err, recipes.ErrClosed) {
		t.Errorf("Leader on a closed manager: %v", err)
	}
	if _, err := cel.Participants(ctx); !errors.Is(err, recipes.ErrClosed) {
		t.Errorf("Participants on a closed manager: %v", err)
	}
	if err := cel.Run(ctx, func(context.Context) error { return nil }, func(err error) { t.Errorf("reported %v", err) }); !errors.Is(err, recipes.ErrClosed) {
		t.Errorf("Run on a closed manager: %v", err)
	}
	select {
	case p, open := <-cel.Observe(ctx):
		if open {
			t.Errorf("Observe on a closed manager sent %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Error("Observe on a closed manager did not close its channel")
	}
	c.CheckClean(t, dir)
}
