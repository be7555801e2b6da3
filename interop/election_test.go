package interop_test

import (
	"strings"
	"testing"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// testElection runs zkcoord's election and Curator's LeaderLatch as
// candidates of one election (TestCurator/Election): one leader at a time,
// succession in the order they joined, each side reading the other's
// leader, then under load.
func testElection(t *testing.T, c *zktest.Cluster, java *peer) {
	fx := newFixture(t, c)
	g := startGo(t, c)
	observer, err := election.New(fx.m, fx.lock)
	if err != nil {
		t.Fatal(err)
	}
	candidates := []struct {
		p *peer
		h string
	}{{g, "el.g1"}, {g, "el.g2"}, {java, "el.c3"}, {java, "el.c4"}, {g, "el.g5"}}
	// el.g2 campaigns with its address, written into its node when it
	// joins: Curator's el.c3, which watches that node, must still take over.
	data := map[string]string{"el.g2": "el.g2@http://g2"}
	for _, x := range candidates {
		d := x.h
		if v, ok := data[x.h]; ok {
			d = v
		}
		x.p.do(t, "ok "+x.h, "latch %s %s %s", x.h, fx.lock, d)
	}
	curatorLeader := func() string { return java.do(t, "leader el.q", "leader el.q %s", fx.lock) }

	// They join one at a time, so that the queue's order is known.
	var queue []string
	for i, x := range candidates {
		x.p.lock(t, x.h)
		if i == 0 {
			x.p.locked(t, x.h)
		}
		queue = append(queue, x.h)
		electionQueue(t, fx, observer, strings.Join(queue, " "))
	}
	ps := electionQueue(t, fx, observer, strings.Join(queue, " "))
	for i, p := range ps {
		if p.Marker != recipes.MarkerLatch || p.Session != candidates[i].p.session {
			t.Errorf("%s: marker %q session 0x%x, want %q 0x%x", p.Identity, p.Marker, p.Session, recipes.MarkerLatch, candidates[i].p.session)
		}
	}
	if got := curatorLeader(); got != "el.g1" {
		t.Errorf("Curator's LeaderLatch.getLeader says %q, want el.g1", got)
	}

	// A proclaimed value goes into the election directory, not the leader's
	// node: zkcoord reads it, Curator still reads the plain id.
	g.do(t, "proclaimed el.g1", "proclaim el.g1 http://g1")
	leader, err := observer.Leader(fx.ctx)
	if err != nil || leader == nil || leader.Identity != "el.g1" || string(leader.Value) != "http://g1" {
		t.Errorf("zkcoord's Leader after Proclaim: %+v %v", leader, err)
	}
	if got := curatorLeader(); got != "el.g1" {
		t.Errorf("Curator's getLeader after Proclaim: %q, want el.g1", got)
	}

	// Leadership passes zkcoord to zkcoord, to Curator, Curator to
	// Curator, and back to zkcoord; nobody else leads meanwhile.
	for i, x := range candidates {
		if i > 0 {
			x.p.locked(t, x.h)
		}
		electionQueue(t, fx, observer, strings.Join(queue[i:], " "))
		if leader, err := observer.Leader(fx.ctx); err != nil || leader == nil || leader.Session != x.p.session {
			t.Errorf("zkcoord's Leader with %s leading: %+v %v", x.h, leader, err)
		} else if x.h == "el.g2" && (leader.Identity != "el.g2" || string(leader.Value) != "http://g2") {
			t.Errorf("zkcoord's Leader with el.g2 leading: identity %q value %q, want el.g2 and its campaign value", leader.Identity, leader.Value)
		}
		if got := curatorLeader(); !strings.HasPrefix(got, x.h) {
			t.Errorf("Curator's LeaderLatch.getLeader says %q, want %s", got, x.h)
		}
		for _, y := range candidates[i+1:] {
			if y.p.saw("locked " + y.h) {
				t.Fatalf("%s leads while %s does", y.h, x.h)
			}
		}
		// A zkcoord leader that proclaims hands over to a Curator successor
		// all the same: LeaderLatch renews its one-shot watch on the
		// leader's node only on deletion, so that node's data must not change.
		if x.p == g && i+1 < len(candidates) && candidates[i+1].p == java {
			g.do(t, "proclaimed "+x.h, "proclaim %s http://%s", x.h, x.h)
		}
		x.p.unlock(t, x.h)
	}
	electionQueue(t, fx, observer, "")

	// Under load: every candidate leads 10 times.
	const rounds = 10
	for _, x := range candidates {
		x.p.loop(t, x.h, rounds, fx.cs)
	}
	for _, x := range candidates {
		x.p.loopDone(t, x.h)
	}
	if log := fx.log(); len(log) != len(candidates)*rounds {
		t.Errorf("log has %d entries, want %d", len(log), len(candidates)*rounds)
	}
	fx.finish(g.session)
}

// electionQueue waits until zkcoord's Participants lists the candidates
// want, by identity, leader first, and returns them.
func electionQueue(t testing.TB, fx *fixture, e *election.Election, want string) []election.Participant {
	t.Helper()
	var ps []election.Participant
	eventually(t, "candidates "+want, func() (bool, string) {
		var err error
		ps, err = e.Participants(fx.ctx)
		if err != nil {
			return false, err.Error()
		}
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.Identity
		}
		got := strings.Join(ids, " ")
		return got == want, got
	})
	return ps
}
