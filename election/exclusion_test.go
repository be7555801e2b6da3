package election_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// forcedChanges is how many times TestOneLeaderThroughFaults makes the
// leader change.
const forcedChanges = 50

// fault is what a round does to the leader.
type fault int

const (
	resign       fault = iota // it resigns
	closeSession              // its process closes its session manager
	killServer                // the ZooKeeper server it is connected to dies
	partition                 // its network goes silent beyond its session timeout
)

func (f fault) String() string {
	return [...]string{"resign", "close", "kill server", "partition"}[f]
}

// The mix: cheap faults often, slow ones (a partition lasts a session
// timeout, a killed JVM takes seconds to restart) less.
var faultPlan = []fault{resign, closeSession, partition, killServer, resign, closeSession, resign, partition, closeSession, resign}

// Five candidates, each with its own session and network link, elect a
// leader again and again while the leader is made to resign, close its
// session, lose its server or be cut off. At every moment there is at
// most one live term: each new term starts only after every other term's
// Done has closed, and the terms' intervals, on the monotonic clock, never
// overlap. An observer follows along and never goes back to an earlier
// leader, and after every change the observer, a fresh read and the one
// live term agree on who leads.
func TestOneLeaderThroughFaults(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	dir := dirFor(t)
	ctx := within(t, 4*time.Minute)
	const candidates = 5

	rec := &record{held: map[int]*election.Leadership{}}
	cands := make([]*candidate, candidates)
	for i := range cands {
		link := c.NewLink()
		t.Cleanup(link.Close)
		cd := &candidate{i: i, link: link, swap: make(chan struct{}, 1), resign: make(chan *election.Leadership, 1)}
		cd.connect(t, dir)
		cands[i] = cd
	}

	om := manager(t, c.Servers(), healthy)
	watcher := newElection(t, om, dir)
	obs := follow(ctx, watcher, func(p *election.Participant) error {
		if p == nil {
			return nil
		}
		var i int
		if _, err := fmt.Sscanf(p.Identity, "candidate-%d", &i); err != nil || i < 0 || i >= candidates {
			return fmt.Errorf("leader %q is none of ours", p.Identity)
		}
		return nil
	})

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, cd := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cd.run(runCtx, rec)
		}()
	}

	// settle waits until exactly one term is live, the observer and a fresh
	// read both name it, and, with changed, it is not the term before.
	settle := func(before *election.Leadership, changed bool) (int, *election.Leadership) {
		t.Helper()
		var (
			who int
			l   *election.Leadership
		)
		eventually(t, time.Minute, "one leader agreed on", func() bool {
			who, l = rec.live()
			if l == nil || (changed && l == before) {
				return false
			}
			if p := obs.latest(); p == nil || p.Name != base(l.Path()) {
				return false
			}
			p, err := watcher.Leader(ctx)
			return err == nil && p != nil && p.Name == base(l.Path()) && l.Err() == nil
		})
		return who, l
	}

	var (
		restarting      <-chan error // a killed server coming back
		failover        = map[fault][]time.Duration{}
		applied         = map[fault]int{}
		changes         int
		kept            int // kills the leader's term survived
		ensembleLeaders int // kills that took the ensemble's leader
	)
	waitRestart := func() {
		if restarting == nil {
			return
		}
		select {
		case err := <-restarting:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatal("killed server not back within a minute")
		}
		restarting = nil
	}
	_, l := settle(nil, false)
	for round := 0; changes < forcedChanges; round++ {
		if round > 3*forcedChanges {
			t.Fatalf("only %d leader changes in %d rounds", changes, round)
		}
		who := rec.owner(l)
		cd := cands[who]
		f := faultPlan[round%len(faultPlan)]
		applied[f]++
		at := time.Now()
		switch f {
		case resign:
			cd.resign <- l
		case closeSession:
			cd.replace(t, dir)
		case killServer:
			waitRestart()
			s := serverOf(c, cd.manager().Current().SessionID())
			if s < 0 {
				applied[f]-- // between connections: try another fault
				continue
			}
			if zl, err := c.Leader(); err == nil && zl == s {
				ensembleLeaders++
			}
			if err := c.Kill(s); err != nil {
				t.Fatal(err)
			}
			ch := make(chan error, 1)
			restarting = ch
			go func() { ch <- c.Restart(s) }()
			// The leader reconnects to another server in time and keeps its
			// term, or its session's safe deadline passes and it steps down.
			eventually(t, time.Minute, "leader reconnected or replaced", func() bool {
				return l.Err() != nil || serverOf(c, cd.manager().Current().SessionID()) >= 0
			})
		case partition:
			cd.link.Blackhole()
			select {
			case <-l.Done():
			case <-time.After(time.Minute):
				t.Fatal("partitioned leader never stepped down")
			}
		}
		_, next := settle(l, f != killServer)
		if f == partition {
			cd.link.Heal()
		}
		if f == killServer && next == l {
			kept++
		}
		if next != l {
			changes++
			failover[f] = append(failover[f], rec.startOf(next).Sub(at))
		}
		l = next
	}
	stop()
	wg.Wait()
	waitRestart()
	obs.stop(t)

	rec.check(t)
	if err := obs.err(); err != nil {
		t.Error(err)
	}
	t.Logf("%d leader changes, %d terms; faults applied: %v; terms that survived their server's death: %d of %d (%d servers killed were the ensemble's leader)", changes, len(rec.terms), applied, kept, applied[killServer], ensembleLeaders)
	for _, f := range []fault{resign, closeSession, killServer, partition} {
		if d := failover[f]; len(d) > 0 {
			t.Logf("failover after %-11s n=%-2d min %v median %v", f.String()+":", len(d), testutil.Min(d).Round(time.Millisecond), testutil.Median(d).Round(time.Millisecond))
		}
	}
	ms := []*session.Manager{om}
	for _, cd := range cands {
		ms = append(ms, cd.manager())
	}
	clean(t, c, dir, ms...)
}

// candidate campaigns again and again through its own link.
type candidate struct {
	i      int
	link   *zktest.Link
	swap   chan struct{}             // a new manager replaces a closed one
	resign chan *election.Leadership // resign this term, if still ours

	mu sync.Mutex
	m  *session.Manager
	el *election.Election
}

func (cd *candidate) connect(t *testing.T, dir string) {
	m := manager(t, cd.link.Servers(), fragile)
	el := newElection(t, m, dir, election.WithIdentity(fmt.Sprintf("candidate-%d", cd.i)))
	cd.mu.Lock()
	cd.m, cd.el = m, el
	cd.mu.Unlock()
}

func (cd *candidate) manager() *session.Manager {
	cd.mu.Lock()
	defer cd.mu.Unlock()
	return cd.m
}

func (cd *candidate) election() *election.Election {
	cd.mu.Lock()
	defer cd.mu.Unlock()
	return cd.el
}

// replace closes the candidate's manager, as a process shutting down
// would, and gives it a new one, as the process restarting would.
func (cd *candidate) replace(t *testing.T, dir string) {
	cd.manager().Close()
	cd.connect(t, dir)
	select {
	case cd.swap <- struct{}{}:
	default:
	}
}

func (cd *candidate) run(ctx context.Context, rec *record) {
	for ctx.Err() == nil {
		l, err := cd.election().Campaign(ctx)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case errors.Is(err, recipes.ErrClosed):
			select {
			case <-cd.swap:
			case <-ctx.Done():
				return
			}
			continue
		default:
			rec.fail("candidate %d: Campaign: %v", cd.i, err)
			continue
		}
		n := rec.begin(cd.i, l)
	held:
		for {
			select {
			case <-l.Done():
				rec.end(n, time.Now())
				break held
			case r := <-cd.resign:
				if r != l {
					continue // meant for a term already over
				}
				// The term ends when Resign is called: Done closes before
				// the node is deleted, so before anyone else can lead.
				rec.end(n, time.Now())
				if err := l.Resign(ctx); err != nil && !errors.Is(err, recipes.ErrNotHeld) {
					rec.fail("candidate %d: Resign: %v", cd.i, err)
				}
				break held
			case <-ctx.Done():
				rec.end(n, time.Now())
				l.Resign(context.WithoutCancel(ctx))
				return
			}
		}
	}
}

// record keeps every term, and checks the moment each one starts that no
// other is live.
type record struct {
	mu    sync.Mutex
	terms []termSpan
	held  map[int]*election.Leadership
	errs  []string
}

type termSpan struct {
	who        int
	l          *election.Leadership
	start, end time.Time
}

func (r *record) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *record) begin(who int, l *election.Leadership) int {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for o, ol := range r.held {
		if o != who && ol.Err() == nil {
			r.errs = append(r.errs, fmt.Sprintf("candidate %d elected (token %d) while candidate %d's term (token %d) is live", who, l.Token(), o, ol.Token()))
		}
	}
	if n := len(r.terms); n > 0 && l.Token() <= r.terms[n-1].l.Token() {
		r.errs = append(r.errs, fmt.Sprintf("token %d of candidate %d not above the previous term's %d", l.Token(), who, r.terms[n-1].l.Token()))
	}
	r.held[who] = l
	r.terms = append(r.terms, termSpan{who: who, l: l, start: now})
	return len(r.terms) - 1
}

func (r *record) end(n int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.terms[n].end = at
	if r.held[r.terms[n].who] == r.terms[n].l {
		delete(r.held, r.terms[n].who)
	}
}

// live returns the one live term, if exactly one is.
func (r *record) live() (int, *election.Leadership) {
	r.mu.Lock()
	defer r.mu.Unlock()
	who, found := -1, (*election.Leadership)(nil)
	for o, l := range r.held {
		if l.Err() != nil {
			continue
		}
		if found != nil {
			return -1, nil
		}
		who, found = o, l
	}
	return who, found
}

func (r *record) owner(l *election.Leadership) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.terms {
		if s.l == l {
			return s.who
		}
	}
	return -1
}

func (r *record) startOf(l *election.Leadership) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.terms {
		if s.l == l {
			return s.start
		}
	}
	return time.Time{}
}

// check verifies, once every candidate has stopped, that the terms' spans
// never overlapped.
func (r *record) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errs {
		t.Error(e)
	}
	spans := slices.Clone(r.terms)
	slices.SortFunc(spans, func(a, b termSpan) int { return a.start.Compare(b.start) })
	for i, s := range spans {
		if s.end.IsZero() {
			t.Errorf("term %d of candidate %d never ended", i, s.who)
			continue
		}
		if i > 0 && s.start.Before(spans[i-1].end) {
			t.Errorf("term of candidate %d (token %d) started %v before candidate %d's (token %d) ended",
				s.who, s.l.Token(), spans[i-1].end.Sub(s.start), spans[i-1].who, spans[i-1].l.Token())
		}
	}
}

// observer reads an Observe channel as fast as it can and checks every
// state: it must pass judge, and leaders come in election order (their
// Zxid grows), never back to an earlier one.
type observer struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	history []*election.Participant
	failure error
}

func follow(ctx context.Context, el *election.Election, judge func(*election.Participant) error) *observer {
	ctx, cancel := context.WithCancel(ctx)
	o := &observer{cancel: cancel, done: make(chan struct{})}
	ch := el.Observe(ctx)
	go func() {
		defer close(o.done)
		for p := range ch {
			o.mu.Lock()
			if err := judge(p); err != nil && o.failure == nil {
				o.failure = err
			}
			if prev := o.lastLeader(); p != nil && prev != nil && p.Name != prev.Name && p.Zxid <= prev.Zxid {
				if o.failure == nil {
					o.failure = fmt.Errorf("observer went back from %s (zxid %d) to %s (zxid %d)", prev.Name, prev.Zxid, p.Name, p.Zxid)
				}
			}
			o.history = append(o.history, p)
			o.mu.Unlock()
		}
	}()
	return o
}

func (o *observer) lastLeader() *election.Participant {
	for i := len(o.history) - 1; i >= 0; i-- {
		if o.history[i] != nil {
			return o.history[i]
		}
	}
	return nil
}

func (o *observer) latest() *election.Participant {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.history) == 0 {
		return nil
	}
	return o.history[len(o.history)-1]
}

// seen reports whether any state has arrived yet.
func (o *observer) seen() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.history) > 0
}

func (o *observer) states() []*election.Participant {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.history)
}

func (o *observer) err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failure
}

// stop ends the observation; the channel must close promptly.
func (o *observer) stop(t *testing.T) {
	t.Helper()
	o.cancel()
	select {
	case <-o.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Observe channel not closed 10s after its context ended")
	}
}
