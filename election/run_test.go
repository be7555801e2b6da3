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

// runner is one Run loop whose function a test steers.
type runner struct {
	name   string
	terms  chan *election.Leadership // a term started (fn called)
	ended  chan error                // fn's context ended, with this cause
	next   chan error                // make fn return this
	errs   chan error                // what Run's handler got
	result chan error                // what Run returned
}

func startRunner(ctx context.Context, el *election.Election, name string) *runner {
	r := &runner{name: name, terms: make(chan *election.Leadership, 10), ended: make(chan error, 10),
		next: make(chan error), errs: make(chan error, 10), result: make(chan error, 1)}
	fn := func(ctx context.Context) error {
		r.terms <- election.FromContext(ctx)
		select {
		case err := <-r.next:
			return err
		case <-ctx.Done():
			r.ended <- context.Cause(ctx)
			return ctx.Err()
		}
	}
	go func() { r.result <- el.Run(ctx, fn, func(err error) { r.errs <- err }) }()
	return r
}

func (r *runner) term(t *testing.T) *election.Leadership {
	t.Helper()
	select {
	case l := <-r.terms:
		if l == nil || l.Err() != nil {
			t.Fatalf("%s: fn called without a live Leadership in its context: %v", r.name, l)
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no term started", r.name)
	}
	panic("unreachable")
}

func (r *runner) reported(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.errs:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: nothing reported", r.name)
	}
	panic("unreachable")
}

func (r *runner) quiet(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.errs:
		t.Errorf("%s: unexpected report: %v", r.name, err)
	default:
	}
}

// Two Run loops share an election. A function's error is reported and its
// runner queues again; a lost term cancels the function's context and is
// reported; a function that returns nil hands over silently; ending Run's
// context ends the term and Run, which returns only once fn has.
func TestRunRequeuesAndReportsErrors(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, 2*time.Minute)
	ma, mb := manager(t, c.Servers(), healthy), manager(t, c.Servers(), healthy)
	watcher := newElection(t, manager(t, c.Servers(), healthy), dir)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	a := startRunner(runCtx, newElection(t, ma, dir, election.WithIdentity("run-a")), "a")
	la := a.term(t)
	b := startRunner(runCtx, newElection(t, mb, dir, election.WithIdentity("run-b")), "b")
	queued(t, ctx, watcher, 2)
	if err := la.Proclaim(ctx, []byte("a's address")); err != nil {
		t.Fatalf("Proclaim from fn: %v", err)
	}

	// a's function fails: reported, and a queues behind b.
	boom := errors.New("boom")
	a.next <- boom
	lb := b.term(t)
	if err := a.reported(t); !errors.Is(err, boom) {
		t.Fatalf("a reported %v, want boom", err)
	}
	if lb.Token() <= la.Token() {
		t.Fatalf("b's token %d after a's %d", lb.Token(), la.Token())
	}
	queued(t, ctx, watcher, 2)

	// b's node is deleted under it: b's function is cancelled with the
	// loss as cause, the loss is reported, and a leads again.
	ep, _ := ma.Epoch(ctx)
	if err := ep.Delete(ctx, lb.Path(), -1); err != nil {
		t.Fatal(err)
	}
	select {
	case cause := <-b.ended:
		if !errors.Is(cause, recipes.ErrLost) {
			t.Fatalf("b's fn cancelled with cause %v, want ErrLost", cause)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("b's fn not cancelled on loss")
	}
	if err := b.reported(t); !errors.Is(err, recipes.ErrLost) || errors.Is(err, context.Canceled) {
		t.Fatalf("b reported %v, want the loss alone", err)
	}
	la = a.term(t)
	queued(t, ctx, watcher, 2)

	// a's function returns nil: nothing to report, b leads.
	a.next <- nil
	b.term(t)
	queued(t, ctx, watcher, 2)

	// The end: b's function sees its context end; both Runs return.
	stop()
	select {
	case <-b.ended:
	case <-time.After(20 * time.Second):
		t.Fatal("b's fn not cancelled when Run's context ended")
	}
	for _, r := range []*runner{a, b} {
		select {
		case err := <-r.result:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: Run returned %v", r.name, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: Run did not return", r.name)
		}
		r.quiet(t)
	}
	if p, err := watcher.Leader(ctx); err != nil || p != nil {
		t.Fatalf("leader after both Runs returned: %+v %v", p, err)
	}
	clean(t, c, dir, ma, mb)
}

// A closed manager ends Run, leader or not, with recipes.ErrClosed; a term
// it cut short is reported first.
func TestRunEndsWhenManagerCloses(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	ma, mb := manager(t, c.Servers(), healthy), manager(t, c.Servers(), healthy)
	a := startRunner(ctx, newElection(t, ma, dir), "a")
	a.term(t)
	b := startRunner(ctx, newElection(t, mb, dir), "b")
	queued(t, ctx, newElection(t, ma, dir), 2)

	mb.Close() // b is waiting
	ma.Close() // a leads
	for _, r := range []*runner{a, b} {
		select {
		case err := <-r.result:
			if !errors.Is(err, recipes.ErrClosed) {
				t.Errorf("%s: Run returned %v, want ErrClosed", r.name, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: Run did not return", r.name)
		}
	}
	if err := a.reported(t); !errors.Is(err, recipes.ErrLost) || !errors.Is(err, session.ErrClosed) {
		t.Errorf("a reported %v, want the loss of its term to the close", err)
	}
	b.quiet(t)
	c.CheckClean(t, dir)
}

// A function that panics: the panic is the caller's, but the term ends
// with it and the node goes.
func TestRunPanickingFunctionLeavesNothing(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	el := newElection(t, m, dir)
	var term *election.Leadership
	func() {
		defer func() {
			if r := recover(); r != "fn panicked" {
				t.Errorf("recovered %v", r)
			}
		}()
		el.Run(ctx, func(ctx context.Context) error {
			term = election.FromContext(ctx)
			panic("fn panicked")
		}, func(err error) { t.Errorf("reported %v", err) })
	}()
	if term == nil || !errors.Is(term.Err(), recipes.ErrReleased) {
		t.Fatalf("term after the panic: %v", term)
	}
	clean(t, c, dir, m)
}
