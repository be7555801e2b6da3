package election_test

import (
	"context"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/zktest"
)

// How long an election is leaderless after a clean resignation, after the
// leader's process closes its session, and after the leader is cut off
// (which is bounded below by the session timeout: until the server expires
// the session, the old leader's node stands and nobody else may lead). A
// cut-off leader always steps down before the next one is elected.
func TestFailoverTimes(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	const trials = 5
	sm := manager(t, c.Servers(), healthy)
	standby := newElection(t, sm, dir)
	logf := func(what string, d []time.Duration) {
		t.Logf("failover after %-15s min %v median %v (n=%d)", what+":", testutil.Min(d).Round(time.Millisecond), testutil.Median(d).Round(time.Millisecond), len(d))
	}

	var resigned []time.Duration
	for range trials {
		l := lead(t, ctx, newElection(t, manager(t, c.Servers(), healthy), dir))
		next := campaign(ctx, standby)
		queued(t, ctx, standby, 2)
		at := time.Now()
		if err := l.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		e := await(t, next, 10*time.Second)
		resigned = append(resigned, e.at.Sub(at))
		if err := e.l.Resign(ctx); err != nil {
			t.Fatal(err)
		}
	}
	logf("resign", resigned)

	var closed []time.Duration
	for range trials {
		m := manager(t, c.Servers(), healthy)
		lead(t, ctx, newElection(t, m, dir))
		next := campaign(ctx, standby)
		queued(t, ctx, standby, 2)
		at := time.Now()
		m.Close()
		e := await(t, next, 10*time.Second)
		closed = append(closed, e.at.Sub(at))
		if err := e.l.Resign(ctx); err != nil {
			t.Fatal(err)
		}
	}
	logf("session closed", closed)

	var cut, lead2 []time.Duration
	link := c.NewLink()
	defer link.Close()
	// One manager throughout: after each partition it gets a new session.
	cm := manager(t, link.Servers(), short)
	cutOff := newElection(t, cm, dir)
	for trial := range trials {
		l := lead(t, ctx, cutOff)
		next := campaign(ctx, standby)
		queued(t, ctx, standby, 2)
		at := time.Now()
		link.Blackhole()
		var stepped time.Time
		select {
		case <-l.Done():
			stepped = time.Now()
		case <-next:
			t.Fatalf("trial %d: next leader elected while the partitioned one's term was live", trial)
		}
		e := await(t, next, 20*time.Second)
		if !stepped.Before(e.at) {
			t.Fatalf("trial %d: old leader stepped down %v after the new one was elected", trial, stepped.Sub(e.at))
		}
		cut = append(cut, e.at.Sub(at))
		lead2 = append(lead2, e.at.Sub(stepped))
		link.Heal()
		if err := e.l.Resign(context.WithoutCancel(ctx)); err != nil {
			t.Fatal(err)
		}
	}
	logf("partition", cut)
	t.Logf("partitioned leader stepped down ahead of its successor by: min %v median %v (session timeout %v)",
		testutil.Min(lead2).Round(time.Millisecond), testutil.Median(lead2).Round(time.Millisecond), short)
	clean(t, c, dir, sm, cm)
}
