package session_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// isolationTrials is how many trials of each kind TestLossSignalBeatsTakeover
// runs: $ZKCOORD_SAFETY_TRIALS, or 1 (make test); `make safety` runs 20.
func isolationTrials(t *testing.T) int {
	if s := os.Getenv("ZKCOORD_SAFETY_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ZKCOORD_SAFETY_TRIALS=%q: want a positive number", s)
		}
		return n
	}
	return 1
}

// The guarantee, at ZooKeeper's shipped timings (tickTime 2s, syncLimit 5)
// and the 10s sessions the README advises, against the fault that matters:
// the holder's server cut off from its peers while the holder stays
// attached to it. Holder A reaches only that server; B reaches only the
// others and watches A's ephemeral node, whose deletion is the moment
// anyone else could take what A held. A's loss signal (its epoch's end)
// must come first, whether the isolated server is a follower (which keeps
// answering A for syncLimit × tickTime) or the leader (which keeps
// answering until it notices it lost its quorum, while its successor
// counts A's session from its election). The control, crediting every
// reply as the manager did before, shows the takeover first.
func TestLossSignalBeatsTakeover(t *testing.T) {
	trials := isolationTrials(t)
	opts := zktest.ShippedTimings
	opts.Nodes = 3
	c := zktest.Start(t, opts)
	c.RequireFaults(t)

	run := func(t *testing.T, isolateLeader, control bool, trial int) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := c.WaitServing(ctx); err != nil {
			t.Fatal(err)
		}
		leader, err := c.Leader()
		if err != nil {
			t.Fatal(err)
		}
		victim := (leader + 1) % 3
		if isolateLeader {
			victim = leader
		}
		var others []int
		for i := range 3 {
			if i != victim {
				others = append(others, i)
			}
		}
		la, lb := c.NewLinkTo(victim), c.NewLinkTo(others...)
		defer la.Close()
		defer lb.Close()
		tweak := func(cfg *session.Config) {
			if control {
				session.CreditReplies(cfg)
			}
		}
		a := connect(t, la.Servers(), 10*time.Second, tweak)
		defer a.Close()
		epA, err := a.Epoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// B only watches, with a plain client: while the leader is cut off
		// no one can prove contact with it, and a manager would end B's
		// epoch too; the server keeps B's session (the new leader counts
		// every session afresh), and the client re-sends B's watch.
		b, _, err := zk.Connect(lb.Servers(), 20*time.Second, zk.WithLogger(quiet{}), zk.WithLogInfo(false))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		node := fmt.Sprintf("/isolation-%v-%v-%d", isolateLeader, control, trial)
		if _, err := epA.Create(ctx, node, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Sync(node); err != nil {
			t.Fatal(err)
		}
		ok, _, watch, err := b.ExistsW(node)
		if err != nil || !ok {
			t.Fatalf("B does not see A's node: %v %v", ok, err)
		}

		cut := time.Now()
		if err := c.Isolate(victim); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := c.HealPeers(); err != nil {
				t.Error(err)
			}
		}()
		var signalled, takeover time.Time
		done := epA.Done()
		for done != nil || watch != nil {
			select {
			case <-done:
				signalled, done = time.Now(), nil
			case ev := <-watch:
				switch {
				case ev.Type == zk.EventNodeDeleted:
					takeover, watch = time.Now(), nil
				case ev.Type == zk.EventNotWatching || ev.Err != nil:
					t.Fatalf("B lost its watch: %+v", ev)
				default:
					t.Fatalf("unexpected event on A's node: %+v", ev)
				}
			case <-ctx.Done():
				t.Fatalf("after %v: signalled %v, takeover %v", time.Since(cut), !signalled.IsZero(), !takeover.IsZero())
			}
		}
		if err := epA.Err(); !errors.Is(err, session.ErrSafeDeadline) && !errors.Is(err, session.ErrExpired) {
			t.Fatalf("A's epoch ended with %v", err)
		}
		lead := takeover.Sub(signalled)
		t.Logf("isolate %s, control %v, trial %d: signal at +%v, takeover at +%v, lead %v",
			map[bool]string{true: "leader", false: "follower"}[isolateLeader], control, trial,
			signalled.Sub(cut).Round(time.Millisecond), takeover.Sub(cut).Round(time.Millisecond), lead.Round(time.Millisecond))
		return lead
	}

	summary := func(t *testing.T, name string, leads []time.Duration) {
		s := slices.Clone(leads)
		slices.Sort(s)
		t.Logf("%s: %d trials, lead min %v, median %v, max %v", name, len(s),
			s[0].Round(time.Millisecond), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
	}
	for _, isolateLeader := range []bool{false, true} {
		name := map[bool]string{true: "leader", false: "follower"}[isolateLeader]
		t.Run("isolated "+name, func(t *testing.T) {
			var leads []time.Duration
			for trial := range trials {
				lead := run(t, isolateLeader, false, trial)
				if lead <= 0 {
					t.Errorf("trial %d: takeover %v before the loss signal", trial, -lead)
				}
				leads = append(leads, lead)
			}
			summary(t, "isolated "+name, leads)
		})
	}
	// The control: replies a follower gives alone extend the deadline.
	t.Run("control isolated follower", func(t *testing.T) {
		var leads []time.Duration
		for trial := range trials {
			lead := run(t, false, true, trial)
			if lead > 0 {
				t.Errorf("trial %d: the control's signal came first (by %v): the test would not catch the defect", trial, lead)
			}
			leads = append(leads, lead)
		}
		summary(t, "control, isolated follower", leads)
	})
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}
