package election_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Six leaders in turn, each proclaiming its address: two observers that
// read at once see every leader, in order, with its address, and the empty
// election at the end; a reader that does not read until the end gets the
// latest state, not a backlog. Every channel closes when its context ends.
func TestObserveSeesEveryLeaderInOrder(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	const leaders = 6
	ma, mb := manager(t, c.Servers(), healthy), manager(t, c.Servers(), healthy)
	wa, wb := newElection(t, ma, dir), newElection(t, mb, dir)
	// The observers start before the election's directory exists.
	fast := []*observer{follow(ctx, wa, judgeNone), follow(ctx, wb, judgeNone)}
	sctx, stopSlow := context.WithCancel(ctx)
	defer stopSlow()
	slow := wa.Observe(sctx)
	for _, o := range fast {
		eventually(t, 10*time.Second, "first state observed", o.seen)
	}

	ms := []*session.Manager{ma, mb}
	ch := make([]<-chan elected, leaders)
	for i := range leaders {
		m := manager(t, c.Servers(), healthy)
		ms = append(ms, m)
		ch[i] = campaign(ctx, newElection(t, m, dir, election.WithIdentity(fmt.Sprintf("leader-%d", i))))
		queued(t, ctx, wa, i+1) // one at a time, so the queue's order is i's
	}
	seenBy := func(o *observer, want *election.Participant) func() bool {
		return func() bool {
			p := o.latest()
			if want == nil || p == nil {
				return want == nil && p == nil && o.seen()
			}
			return p.Name == want.Name && string(p.Value) == string(want.Value)
		}
	}
	var last *election.Leadership
	for i := range leaders {
		l := await(t, ch[i], 20*time.Second).l
		addr := fmt.Sprintf("10.0.0.%d:8080", i)
		if err := l.Proclaim(ctx, []byte(addr)); err != nil {
			t.Fatal(err)
		}
		want := &election.Participant{Value: []byte(addr)}
		want.Name = base(l.Path())
		for _, o := range fast {
			eventually(t, 10*time.Second, fmt.Sprintf("leader %d seen with its address", i), seenBy(o, want))
		}
		if i < leaders-1 {
			if err := l.Resign(ctx); err != nil {
				t.Fatal(err)
			}
		}
		last = l
	}

	// The slow reader: not the 2*leaders+1 states there were, but the latest
	// its observer had published when the reader got round to it, and at
	// most the last leader's own one or two after that.
	reads := 0
	for done := false; !done; {
		select {
		case p := <-slow:
			reads++
			done = p != nil && p.Name == base(last.Path()) && string(p.Value) == fmt.Sprintf("10.0.0.%d:8080", leaders-1)
		case <-time.After(10 * time.Second):
			t.Fatal("slow reader never got the last state")
		}
	}
	if reads > 3 {
		t.Errorf("slow reader read %d states to reach the latest of %d", reads, 2*leaders+1)
	}

	if err := last.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range fast {
		eventually(t, 10*time.Second, "empty election seen", seenBy(o, nil))
	}
	select {
	case p := <-slow:
		if p != nil {
			t.Errorf("slow reader's next state %+v, want no leader", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow reader never saw the election empty")
	}

	for k, o := range fast {
		o.stop(t)
		if err := o.err(); err != nil {
			t.Error(err)
		}
		// Leaders in order, each once; values only ever the leader's own.
		var order []string
		for _, p := range o.states() {
			name := "none"
			if p != nil {
				name = p.Identity
				if p.Value != nil && string(p.Value) != fmt.Sprintf("10.0.0.%s:8080", p.Identity[len("leader-"):]) {
					t.Errorf("observer %d: %s reported with value %q", k, p.Identity, p.Value)
				}
			}
			if len(order) == 0 || order[len(order)-1] != name {
				order = append(order, name)
			}
		}
		want := []string{"none"}
		for i := range leaders {
			want = append(want, fmt.Sprintf("leader-%d", i))
		}
		want = append(want, "none")
		if fmt.Sprint(order) != fmt.Sprint(want) {
			t.Errorf("observer %d saw %v, want %v", k, order, want)
		}
	}
	stopSlow()
	select {
	case _, open := <-slow:
		if open {
			t.Error("slow reader got a state after the election emptied")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow channel not closed after its context ended")
	}
	clean(t, c, dir, ms...)
}

func judgeNone(*election.Participant) error { return nil }

// An observer re-reads the election when its connection comes back within
// its session, and when it gets a new session, whatever became of its
// watches: a leader elected while it was away is reported.
func TestObserveAcrossReconnectAndNewSession(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	link := c.NewLink()
	defer link.Close()
	// Both observers go through the same link; one outlives the cut, the
	// other's session cannot.
	lasting := manager(t, link.Servers(), 6*time.Second)
	brief := manager(t, link.Servers(), short)
	keeps := follow(ctx, newElection(t, lasting, dir), judgeNone)
	renews := follow(ctx, newElection(t, brief, dir), judgeNone)

	ma, mb := manager(t, c.Servers(), healthy), manager(t, c.Servers(), healthy)
	la := lead(t, ctx, newElection(t, ma, dir, election.WithIdentity("a")))
	bch := campaign(ctx, newElection(t, mb, dir, election.WithIdentity("b")))
	leads := func(o *observer, l *election.Leadership) func() bool {
		return func() bool { p := o.latest(); return p != nil && p.Name == base(l.Path()) }
	}
	for _, o := range []*observer{keeps, renews} {
		eventually(t, 10*time.Second, "a observed", leads(o, la))
	}
	epLasting, epBrief := lasting.Current(), brief.Current()

	link.Cut()
	select {
	case <-epBrief.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("brief observer's session outlived the cut")
	}
	if err := la.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	lb := await(t, bch, 10*time.Second).l
	link.Heal()
	for _, o := range []*observer{keeps, renews} {
		eventually(t, 20*time.Second, "b observed after the link came back", leads(o, lb))
	}
	if cur := lasting.Current(); cur != epLasting || !cur.Alive() {
		t.Errorf("lasting observer changed session (epoch %d to %d): the test meant to keep it", epLasting.ID(), cur.ID())
	}
	if brief.Current() == epBrief {
		t.Error("brief observer kept its session: the test meant to end it")
	}
	keeps.stop(t)
	renews.stop(t)
	for _, o := range []*observer{keeps, renews} {
		if err := o.err(); err != nil {
			t.Error(err)
		}
	}
	if err := lb.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	clean(t, c, dir, ma, mb, lasting, brief)
}

// Once a resignation has returned, no read anywhere reports the resigned
// leader, even through a follower that has not applied the deletion yet
// (without the sync before each read, about every other run of this test
// catches one).
func TestLeaderNeverOlderThanAResignation(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	const rounds, readersPerServer = 100, 2
	cm := manager(t, c.Servers()[:1], healthy)
	el := newElection(t, cm, dir)
	var readers []*election.Election
	ms := []*session.Manager{cm}
	for _, s := range c.Servers() {
		for range readersPerServer {
			m := manager(t, []string{s}, healthy)
			ms = append(ms, m)
			readers = append(readers, newElection(t, m, dir))
		}
	}
	for i := range rounds {
		l := lead(t, ctx, el)
		if err := l.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		// All at once, as soon as the resignation returned: the moment a
		// lagging follower would still show it.
		var wg sync.WaitGroup
		stale := make(chan string, len(readers))
		for k, r := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p, err := r.Leader(ctx); err != nil || p != nil {
					stale <- fmt.Sprintf("round %d, reader %d: leader %+v (%v) after it resigned", i, k, p, err)
				}
			}()
		}
		wg.Wait()
		close(stale)
		for s := range stale {
			t.Fatal(s)
		}
	}
	clean(t, c, dir, ms...)
}
