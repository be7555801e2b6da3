package election_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// A leader whose connection drops keeps leading while its session may
// still be alive: it reconnects, and nobody else was elected meanwhile.
// Cut off for longer, it steps down (Done closes, with the safe deadline
// as cause) before the next candidate is elected, and a deposed leader can
// neither proclaim nor resign.
func TestSuspendedLeaderKeepsThenStepsDownFirst(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	link := c.NewLink()
	defer link.Close()
	// Long enough to outlive the client's one-second pause between passes
	// over the servers, short enough that the partition below is brief.
	lm := manager(t, link.Servers(), 3*time.Second)
	wm := manager(t, c.Servers(), healthy)
	l := lead(t, ctx, newElection(t, lm, dir, election.WithIdentity("leader")))
	waiter := newElection(t, wm, dir, election.WithIdentity("waiter"))
	wch := campaign(ctx, waiter)
	queued(t, ctx, waiter, 2)

	sctx, unsubscribe := context.WithCancel(ctx)
	defer unsubscribe()
	changes := lm.Subscribe(sctx)
	ep := lm.Current()
	link.Cut()
	waitState(t, changes, session.Suspended)
	link.Heal()
	for {
		ch := waitState(t, changes, session.Connected)
		if ch.Epoch == ep {
			break
		}
		t.Fatalf("leader's session ended during a short disconnection (epoch %d, now %d)", ep.ID(), ch.Epoch.ID())
	}
	unsubscribe()
	if err := l.Err(); err != nil {
		t.Fatalf("leadership dropped while the session lived: %v", err)
	}
	select {
	case e := <-wch:
		t.Fatalf("waiter elected during the leader's disconnection: %+v", e)
	default:
	}
	if p, err := waiter.Leader(ctx); err != nil || p == nil || p.Name != base(l.Path()) {
		t.Fatalf("leader after reconnection: %+v %v", p, err)
	}
	if err := l.Proclaim(ctx, []byte("still here")); err != nil {
		t.Fatalf("Proclaim after reconnection: %v", err)
	}

	link.Blackhole()
	var stepped, taken time.Time
	select {
	case <-l.Done():
		stepped = time.Now()
	case e := <-wch:
		t.Fatalf("waiter elected (%v) while the partitioned leader's term was live", e.err)
	case <-time.After(20 * time.Second):
		t.Fatal("partitioned leader never stepped down")
	}
	e := await(t, wch, 20*time.Second)
	taken = e.at
	if !stepped.Before(taken) {
		t.Fatalf("old leader stepped down %v after the new one was elected", stepped.Sub(taken))
	}
	t.Logf("partitioned leader stepped down %v before the next was elected", taken.Sub(stepped).Round(time.Millisecond))
	if err := l.Err(); !errors.Is(err, recipes.ErrLost) || !errors.Is(err, session.ErrSafeDeadline) {
		t.Fatalf("Err of the deposed leader: %v", err)
	}
	if !errors.Is(context.Cause(l.Context()), recipes.ErrLost) {
		t.Fatalf("context cause: %v", context.Cause(l.Context()))
	}
	if err := l.Proclaim(ctx, []byte("stale")); !errors.Is(err, recipes.ErrNotHeld) {
		t.Fatalf("Proclaim by a deposed leader: %v", err)
	}
	if err := l.Resign(ctx); !errors.Is(err, recipes.ErrNotHeld) || !errors.Is(err, recipes.ErrLost) {
		t.Fatalf("Resign by a deposed leader: %v", err)
	}
	if p, err := waiter.Leader(ctx); err != nil || p == nil || p.Identity != "waiter" || p.Value != nil {
		t.Fatalf("leader after the partition: %+v %v", p, err)
	}
	link.Heal()
	if err := e.l.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	clean(t, c, dir, wm)
}

func waitState(t *testing.T, changes <-chan session.Change, want session.State) session.Change {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ch := <-changes:
			if ch.State == want {
				return ch
			}
		case <-timeout:
			t.Fatalf("session never %v", want)
		}
	}
}
