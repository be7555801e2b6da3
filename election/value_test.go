package election_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// A candidate that campaigns with its value is never observed leading
// without it: an observer watching throughout sees each leader with its
// value in every state, Leader and Participants report it, and the
// identity stays the identity. Proclaim replaces the value; an empty
// Proclaim withdraws it.
func TestCampaignValueFromTheFirstInstant(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	mo, ma, mb := manager(t, c.Servers(), healthy), manager(t, c.Servers(), healthy), manager(t, c.Servers(), healthy)
	watcher := newElection(t, mo, dir)
	a := newElection(t, ma, dir, election.WithIdentity("host-a"))
	b := newElection(t, mb, dir, election.WithIdentity("host-b"), election.WithValue([]byte("10.0.0.2:80")))

	// Every state the observer is handed, in order; it reads at once, so
	// it is handed every change it notices.
	var (
		mu     sync.Mutex
		states []*election.Participant
	)
	octx, stopObserving := context.WithCancel(ctx)
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		for p := range watcher.Observe(octx) {
			mu.Lock()
			states = append(states, p)
			mu.Unlock()
		}
	}()
	latest := func() *election.Participant {
		mu.Lock()
		defer mu.Unlock()
		if len(states) == 0 {
			return nil
		}
		return states[len(states)-1]
	}
	eventually(t, 10*time.Second, "first state observed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(states) > 0
	})

	la, err := a.CampaignWith(ctx, []byte("10.0.0.1:80"))
	if err != nil {
		t.Fatal(err)
	}
	lb := campaign(ctx, b)
	queued(t, ctx, watcher, 2)
	p, err := watcher.Leader(ctx)
	if err != nil || p == nil || p.Identity != "host-a" || string(p.Value) != "10.0.0.1:80" {
		t.Fatalf("Leader() = %+v, %v; want host-a with 10.0.0.1:80", p, err)
	}
	ps, err := watcher.Participants(ctx)
	if err != nil || len(ps) != 2 || ps[0].Identity != "host-a" || string(ps[0].Value) != "10.0.0.1:80" ||
		ps[1].Identity != "host-b" || string(ps[1].Value) != "10.0.0.2:80" {
		t.Fatalf("Participants() = %+v, %v", ps, err)
	}
	if err := la.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	l := await(t, lb, 20*time.Second).l
	eventually(t, 10*time.Second, "host-b observed leading", func() bool {
		p := latest()
		return p != nil && p.Identity == "host-b"
	})
	if err := l.Proclaim(ctx, []byte("10.0.0.3:80")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "host-b's proclaimed value observed", func() bool {
		p := latest()
		return p != nil && string(p.Value) == "10.0.0.3:80"
	})
	if err := l.Proclaim(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if p, err := watcher.Leader(ctx); err != nil || p == nil || p.Value != nil {
		t.Fatalf("after an empty Proclaim: Leader() = %+v, %v; want host-b with no value", p, err)
	}
	stopObserving()
	<-observed

	// Up to the withdrawal, no state shows a leader without its value.
	want := map[string][]string{"host-a": {"10.0.0.1:80"}, "host-b": {"10.0.0.2:80", "10.0.0.3:80"}}
	leaders := map[string]bool{}
	for i, p := range states {
		if p == nil {
			continue
		}
		if p.Value == nil {
			if p.Identity == "host-b" && leaders["host-b"] && i == len(states)-1 {
				continue // the withdrawal
			}
			t.Errorf("state %d: %s observed leading with no value", i, p.Identity)
			continue
		}
		leaders[p.Identity] = true
		ok := false
		for _, v := range want[p.Identity] {
			ok = ok || string(p.Value) == v
		}
		if !ok {
			t.Errorf("state %d: %s observed with value %q", i, p.Identity, p.Value)
		}
	}
	if !leaders["host-a"] || !leaders["host-b"] {
		t.Errorf("observer saw leaders %v, want both", leaders)
	}
	if err := l.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	clean(t, c, dir, mo, ma, mb)
}

// Run campaigns with the Election's value: the term's leader is reported
// with it.
func TestRunCampaignsWithValue(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	el := newElection(t, m, dir, election.WithValue([]byte("10.0.0.9:80")))
	rctx, stop := context.WithCancel(ctx)
	seen := make(chan *election.Participant, 1)
	done := make(chan error, 1)
	go func() {
		done <- el.Run(rctx, func(lctx context.Context) error {
			p, err := el.Leader(lctx)
			if err != nil {
				t.Error(err)
			}
			seen <- p
			<-lctx.Done()
			return nil
		}, func(err error) { t.Errorf("Run reported %v", err) })
	}()
	if p := <-seen; p == nil || string(p.Value) != "10.0.0.9:80" {
		t.Errorf("leader during Run's term: %+v, want value 10.0.0.9:80", p)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	clean(t, c, dir, m)
}

func TestCampaignValueBadInput(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	if _, err := election.New(m, dir, election.WithIdentity("a\x00b")); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("identity with a NUL: %v, want ErrInvalidArgument", err)
	}
	big := make([]byte, recipes.MaxDataLen)
	if _, err := election.New(m, dir, election.WithValue(big)); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("oversized WithValue: %v, want ErrInvalidArgument", err)
	}
	el := newElection(t, m, dir, election.WithIdentity(strings.Repeat("i", 10)))
	if _, err := el.CampaignWith(ctx, big); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("oversized CampaignWith: %v, want ErrInvalidArgument", err)
	}
	clean(t, c, dir, m)
}
