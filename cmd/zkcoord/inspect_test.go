package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/zktest"
)

// rows returns the identity column of a text table's rows, in order, with
// the given state column ("holds", "waits", "leader", ...) before it.
func rows(t *testing.T, text string) [][]string {
	t.Helper()
	var out [][]string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && regexp.MustCompile(`^\d+$`).MatchString(f[0]) {
			out = append(out, f)
		}
	}
	return out
}

func identities(es []entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Identity
	}
	return out
}

func field(es []entry, f func(entry) string) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = f(e)
	}
	return out
}

// checkOrder fails unless the entries are numbered 1, 2, ... from first
// and created in that order.
func checkOrder(t *testing.T, first int, es []entry) {
	t.Helper()
	for i, e := range es {
		if e.Order != first+i {
			t.Errorf("entry %q has order %d, want %d", e.Identity, e.Order, first+i)
		}
		if i > 0 && e.Czxid <= es[i-1].Czxid {
			t.Errorf("entry %q: czxid %d not after %d", e.Identity, e.Czxid, es[i-1].Czxid)
		}
		if e.Since.IsZero() || time.Since(e.Since) > time.Hour {
			t.Errorf("entry %q: since %v", e.Identity, e.Since)
		}
	}
}

// A mutex shared by zkcoord, Curator and kazoo clients: the holder and the
// waiters in order, with who they are and their sessions.
func TestLocksMutex(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	holder := manager(t, c.Servers(), "zk-holder")
	curator := manager(t, c.Servers(), "curator")
	kazoo := manager(t, c.Servers(), "kazoo")
	waiter := manager(t, c.Servers(), "zk-waiter")

	mu, err := mutex.New(holder, dir)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := mu.Lock(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Unlock(context.Background())
	curatorNode := contender(t, curator, dir, curatorPrefix(recipes.MarkerLock), "curator-java@host-7")
	kazooNode := contender(t, kazoo, dir, kazooPrefix(recipes.MarkerKazooLock), "kazoo-py@host-9")
	wmu, err := mutex.New(waiter, dir)
	if err != nil {
		t.Fatal(err)
	}
	background(t, func(ctx context.Context) {
		if l, err := wmu.Lock(ctx); err == nil {
			l.Unlock(context.Background())
		}
	})
	queued(t, holder, dir, 4, recipes.MutexMarkers()...)
	before := stat(t, holder, dir)

	text := inspect(t, c.Servers(), "locks", dir).stdout
	if want := dir + `: mutex, held by "zk-holder", 3 contenders waiting`; !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
	rs := rows(t, text)
	var got []string
	for _, r := range rs {
		got = append(got, r[1]+" "+r[2])
	}
	want := []string{"holds zk-holder", "waits curator-java@host-7", "waits kazoo-py@host-9", "waits zk-waiter"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q:\n%s", got, want, text)
	}
	if !strings.Contains(text, curatorNode) || !strings.Contains(text, kazooNode) || !strings.Contains(text, sessionOf(kazoo)) {
		t.Errorf("text lacks the node names or sessions:\n%s", text)
	}
	if !strings.Contains(text, "warning: zkcoord: kazoo and Curator-layout contenders share one lock") {
		t.Errorf("text lacks the mixed-layout warning:\n%s", text)
	}

	r := decode[lockReport](t, inspect(t, c.Servers(), "locks", "--json", dir))
	if r.Path != dir || r.Type != "mutex" || len(r.Ignored) != 0 || !strings.Contains(r.Warning, "share one lock") {
		t.Errorf("path %q, type %q, ignored %q, warning %q", r.Path, r.Type, r.Ignored, r.Warning)
	}
	if got := identities(r.Holders); !slices.Equal(got, []string{"zk-holder"}) {
		t.Errorf("holders %q", got)
	}
	if got := identities(r.Waiters); !slices.Equal(got, []string{"curator-java@host-7", "kazoo-py@host-9", "zk-waiter"}) {
		t.Errorf("waiters %q", got)
	}
	all := append(slices.Clone(r.Holders), r.Waiters...)
	checkOrder(t, 1, all)
	if got, want := field(all, func(e entry) string { return e.SessionID }), []string{sessionOf(holder), sessionOf(curator), sessionOf(kazoo), sessionOf(waiter)}; !slices.Equal(got, want) {
		t.Errorf("sessions %q, want %q", got, want)
	}
	if got := field(all, func(e entry) string { return e.Marker + " " + e.Kind }); !slices.Equal(got, []string{"lock- exclusive", "lock- exclusive", "__lock__ exclusive", "lock- exclusive"}) {
		t.Errorf("markers and kinds %q", got)
	}
	if all[1].Name != curatorNode || all[2].Name != kazooNode {
		t.Errorf("names %q, want the Curator and kazoo nodes %q, %q", field(all, func(e entry) string { return e.Name }), curatorNode, kazooNode)
	}
	untouched(t, holder, dir, before)
}

// A Curator-layout read-write lock: readers ahead of the first writer hold
// together; a writer at the head holds alone.
func TestLocksReadWrite(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	reader := manager(t, c.Servers(), "zk-reader")
	curator := manager(t, c.Servers(), "curator")
	writer := manager(t, c.Servers(), "zk-writer")

	rw, err := rwlock.New(reader, dir)
	if err != nil {
		t.Fatal(err)
	}
	rl, err := rw.RLock(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer rl.RUnlock(context.Background())
	contender(t, curator, dir, curatorPrefix(recipes.MarkerRead), "curator-reader")
	wrw, err := rwlock.New(writer, dir)
	if err != nil {
		t.Fatal(err)
	}
	background(t, func(ctx context.Context) {
		if l, err := wrw.Lock(ctx); err == nil {
			l.Unlock(context.Background())
		}
	})
	queued(t, reader, dir, 3, recipes.RWLockMarkers()...)
	contender(t, curator, dir, curatorPrefix(recipes.MarkerRead), "curator-late-reader")
	before := stat(t, reader, dir)

	text := inspect(t, c.Servers(), "locks", dir).stdout
	if want := dir + `: read-write lock, read-held by "zk-reader", "curator-reader", 2 contenders waiting`; !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
	var got []string
	for _, r := range rows(t, text) {
		got = append(got, strings.Join(r[1:4], " "))
	}
	want := []string{"holds read zk-reader", "holds read curator-reader", "waits write zk-writer", "waits read curator-late-reader"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q:\n%s", got, want, text)
	}

	r := decode[lockReport](t, inspect(t, c.Servers(), "--json", "locks", dir))
	if r.Type != "rwlock" {
		t.Errorf("type %q", r.Type)
	}
	if got := field(r.Holders, func(e entry) string { return e.Kind + " " + e.Identity }); !slices.Equal(got, []string{"read zk-reader", "read curator-reader"}) {
		t.Errorf("holders %q", got)
	}
	if got := field(r.Waiters, func(e entry) string { return e.Kind + " " + e.Identity }); !slices.Equal(got, []string{"write zk-writer", "read curator-late-reader"}) {
		t.Errorf("waiters %q", got)
	}
	checkOrder(t, 1, append(slices.Clone(r.Holders), r.Waiters...))
	untouched(t, reader, dir, before)

	// A writer at the head holds alone.
	wdir := dir + "-writer"
	contender(t, curator, wdir, curatorPrefix(recipes.MarkerWrite), "curator-writer")
	contender(t, curator, wdir, curatorPrefix(recipes.MarkerRead), "curator-reader-1")
	contender(t, curator, wdir, curatorPrefix(recipes.MarkerRead), "curator-reader-2")
	text = inspect(t, c.Servers(), "locks", wdir).stdout
	if want := `write-held by "curator-writer", 2 contenders waiting`; !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
	r = decode[lockReport](t, inspect(t, c.Servers(), "--json", "locks", wdir))
	if got := field(r.Holders, func(e entry) string { return e.Kind + " " + e.Identity }); !slices.Equal(got, []string{"write curator-writer"}) {
		t.Errorf("holders %q", got)
	}
	if got := field(r.Waiters, func(e entry) string { return e.Kind + " " + e.Identity }); !slices.Equal(got, []string{"read curator-reader-1", "read curator-reader-2"}) {
		t.Errorf("waiters %q", got)
	}
}

// kazoo's ReadLock and WriteLock share a directory with __rlock__ and
// __lock__ nodes; the readers ahead of the first writer hold.
func TestLocksKazooReadWrite(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	kazoo := manager(t, c.Servers(), "kazoo")
	for _, n := range []struct{ marker, id string }{
		{recipes.MarkerKazooRead, "py-reader-1"},
		{recipes.MarkerKazooRead, "py-reader-2"},
		{recipes.MarkerKazooLock, "py-writer"},
		{recipes.MarkerKazooRead, "py-reader-3"},
	} {
		contender(t, kazoo, dir, kazooPrefix(n.marker), n.id)
	}
	r := decode[lockReport](t, inspect(t, c.Servers(), "--json", "locks", dir))
	if r.Type != "rwlock" {
		t.Errorf("type %q", r.Type)
	}
	if got := field(r.Holders, func(e entry) string { return e.Kind + " " + e.Identity }); !slices.Equal(got, []string{"read py-reader-1", "read py-reader-2"}) {
		t.Errorf("holders %q", got)
	}
	if got := field(r.Waiters, func(e entry) string { return e.Kind + " " + e.Marker + " " + e.Identity }); !slices.Equal(got, []string{"write __lock__ py-writer", "read __rlock__ py-reader-3"}) {
		t.Errorf("waiters %q", got)
	}
	text := inspect(t, c.Servers(), "locks", dir).stdout
	if want := `read-held by "py-reader-1", "py-reader-2", 2 contenders waiting`; !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
}

// A semaphore: the limit it stores, the leases held, the lease node of the
// waiter collecting its permit, and the waiters in order.
func TestSemaphore(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	var sems []*semaphore.Semaphore
	var ms []string
	for _, id := range []string{"sem-a", "sem-b", "sem-c", "sem-d"} {
		m := manager(t, c.Servers(), id)
		s, err := semaphore.New(m, dir, 2)
		if err != nil {
			t.Fatal(err)
		}
		sems = append(sems, s)
		ms = append(ms, sessionOf(m))
	}
	for _, s := range sems[:2] {
		l, err := s.Acquire(within(t, 30*time.Second), 1)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release(context.Background())
	}
	observer := manager(t, c.Servers(), "observer")
	for i, s := range sems[2:] {
		background(t, func(ctx context.Context) {
			if l, err := s.Acquire(ctx, 1); err == nil {
				l.Release(context.Background())
			}
		})
		queued(t, observer, dir+"/locks", i+1, recipes.MutexMarkers()...)
	}
	queued(t, observer, dir+"/leases", 3, recipes.LeaseMarkers()...)

	text := inspect(t, c.Servers(), "semaphore", dir).stdout
	if want := dir + ": semaphore, limit 2, 2 leases held, 2 contenders waiting"; !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
	var got []string
	for _, r := range rows(t, text) {
		got = append(got, strings.Join(r[:3], " "))
	}
	// Lease rows (order, state, identity), then waiter rows (order, identity, since).
	if len(got) != 5 || got[0] != "1 holds sem-a" || got[1] != "2 holds sem-b" || got[2] != "3 over limit" ||
		!strings.HasPrefix(got[3], "1 sem-c ") || !strings.HasPrefix(got[4], "2 sem-d ") {
		t.Errorf("rows %q:\n%s", got, text)
	}

	r := decode[semaphoreReport](t, inspect(t, c.Servers(), "semaphore", dir, "--json"))
	if r.Limit == nil || *r.Limit != 2 {
		t.Errorf("limit %v", r.Limit)
	}
	if got := identities(r.Holders); !slices.Equal(got, []string{"sem-a", "sem-b"}) {
		t.Errorf("holders %q", got)
	}
	if got := field(r.Holders, func(e entry) string { return e.SessionID }); !slices.Equal(got, ms[:2]) {
		t.Errorf("holders' sessions %q, want %q", got, ms[:2])
	}
	if got := field(r.OverLimit, func(e entry) string { return e.Identity + " " + e.Kind }); !slices.Equal(got, []string{"sem-c lease"}) {
		t.Errorf("over limit %q", got)
	}
	if got := field(r.Waiters, func(e entry) string { return e.Identity + " " + e.Marker }); !slices.Equal(got, []string{"sem-c lock-", "sem-d lock-"}) {
		t.Errorf("waiters %q", got)
	}
	checkOrder(t, 1, append(slices.Clone(r.Holders), r.OverLimit...))
	checkOrder(t, 1, r.Waiters)
}

// An election: the leader, what it proclaimed, and the candidates in
// order, a Curator LeaderLatch among them.
func TestLeader(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	a := manager(t, c.Servers(), "zk-a")
	b := manager(t, c.Servers(), "zk-b")
	curator := manager(t, c.Servers(), "curator")
	ea, err := election.New(a, dir)
	if err != nil {
		t.Fatal(err)
	}
	lead, err := ea.Campaign(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer lead.Resign(context.Background())
	if err := lead.Proclaim(within(t, 30*time.Second), []byte("http://10.0.0.7:8080")); err != nil {
		t.Fatal(err)
	}
	eb, err := election.New(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	background(t, func(ctx context.Context) {
		if l, err := eb.Campaign(ctx); err == nil {
			l.Resign(context.Background())
		}
	})
	queued(t, a, dir, 2, recipes.LatchMarkers()...)
	latch := contender(t, curator, dir, curatorPrefix(recipes.MarkerLatch), "curator-latch")
	before := stat(t, a, dir)

	text := inspect(t, c.Servers(), "leader", dir).stdout
	if want := dir + `: election, leader "zk-a", 2 candidates waiting`; !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
	var got []string
	for _, r := range rows(t, text) {
		got = append(got, r[1]+" "+r[2]+" "+r[len(r)-1])
	}
	if want := []string{"leader zk-a http://10.0.0.7:8080", "candidate zk-b -", "candidate curator-latch -"}; !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q:\n%s", got, want, text)
	}

	r := decode[electionReport](t, inspect(t, c.Servers(), "leader", "--json", dir))
	if r.Leader == nil || r.Leader.Identity != "zk-a" || r.Leader.Value == nil || *r.Leader.Value != "http://10.0.0.7:8080" || r.Leader.SessionID != sessionOf(a) {
		t.Errorf("leader %+v", r.Leader)
	}
	es := make([]entry, len(r.Candidates))
	for i, c := range r.Candidates {
		es[i] = c.entry
	}
	if got := field(es, func(e entry) string { return e.Identity + " " + e.Kind }); !slices.Equal(got, []string{"zk-a candidate", "zk-b candidate", "curator-latch candidate"}) {
		t.Errorf("candidates %q", got)
	}
	if r.Candidates[2].Name != latch || r.Candidates[1].Value != nil || r.ObservedAt != nil {
		t.Errorf("candidates %+v", r.Candidates)
	}
	checkOrder(t, 1, es)
	untouched(t, a, dir, before)
}

// --watch prints the election at each change, and rides out a lost
// connection: what changed meanwhile shows once it is back.
func TestLeaderWatch(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	link := c.NewLink()
	t.Cleanup(link.Close) // after the watchers have ended

	watch := func(out *lines, args ...string) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		var errOut lines
		go func() {
			done <- run(ctx, append([]string{"--servers", strings.Join(link.Servers(), ","), "leader", "--watch", dir}, args...), out, &errOut, func(string) string { return "" })
		}()
		t.Cleanup(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("leader --watch %q: exit %d after SIGINT; stderr: %s", args, code, errOut.String())
			}
		})
	}
	text, js := newLines(), newLines()
	watch(text)
	watch(js, "--json")
	n := text.await(t, 0, has("no leader (no candidates)"))
	js.await(t, 0, has(`"leader":null`))

	a := manager(t, c.Servers(), "zk-a")
	b := manager(t, c.Servers(), "zk-b")
	ea, _ := election.New(a, dir)
	eb, _ := election.New(b, dir)
	la, err := ea.Campaign(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n = text.await(t, n+1, has(`leader "zk-a" (session `+sessionOf(a)+`, czxid`))
	lb := make(chan *election.Leadership, 1)
	background(t, func(ctx context.Context) {
		l, err := eb.Campaign(ctx)
		if err == nil {
			lb <- l
			<-ctx.Done()
			l.Resign(context.Background())
		}
	})
	n = text.await(t, n+1, has(`leader "zk-a"`, `waiting: "zk-b"`))
	if err := la.Proclaim(within(t, 30*time.Second), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	n = text.await(t, n+1, has(`leader "zk-a"`, `proclaims "v1"`, `waiting: "zk-b"`))

	if !c.External() {
		// Cut the watchers off, wait for them to try again, and change the
		// election meanwhile.
		dials := len(link.Dials())
		link.Cut()
		eventually(t, 20*time.Second, "the watchers try to reconnect", func() bool { return len(link.Dials()) > dials })
		if err := la.Resign(within(t, 30*time.Second)); err != nil {
			t.Fatal(err)
		}
		<-lb
		link.Heal()
	} else if err := la.Resign(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	text.await(t, n+1, has(`leader "zk-b" (session `+sessionOf(b)+`, czxid`, "nobody waiting"))
	js.await(t, 0, func(line string) bool {
		var r electionReport
		return json.Unmarshal([]byte(line), &r) == nil && r.Leader != nil && r.Leader.Identity == "zk-b"
	})

	// Every JSON line is one document.
	for _, line := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		r := decode[electionReport](t, result{stdout: line})
		if r.ObservedAt == nil || r.Path != dir {
			t.Errorf("watch document %s", line)
		}
	}
}

// A path that is not what the command inspects: one clear line, exit 1,
// and nothing written.
func TestNotARecipe(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), "setup")
	persistent(t, m, dir+"/config", "hello")
	persistent(t, m, dir+"/app", "")
	persistent(t, m, dir+"/app/state", "")
	persistent(t, m, dir+"/app/settings", "")
	persistent(t, m, dir+"/empty", "")
	sem, _ := semaphore.New(m, dir+"/sem", 1)
	sl, err := sem.Acquire(within(t, 30*time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Release(context.Background())
	el, _ := election.New(m, dir+"/election")
	ll, err := el.Campaign(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer ll.Resign(context.Background())
	mu, _ := mutex.New(m, dir+"/mutex")
	ml, err := mu.Lock(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer ml.Unlock(context.Background())

	for _, tc := range []struct {
		args []string
		want string
		kind string
	}{
		{[]string{"locks", dir + "/config"}, dir + `/config is not a lock: it has no contender children, and it holds 5 bytes of data ("hello")`, kindNotARecipe},
		{[]string{"locks", dir + "/app"}, dir + `/app is not a lock: none of its 2 children is a contender ("settings", "state")`, kindNotARecipe},
		{[]string{"locks", dir + "/empty"}, "no contenders at " + dir + "/empty: the node is empty", kindNoContender},
		{[]string{"locks", dir + "/absent"}, "nothing at " + dir + "/absent: the node does not exist", kindNotFound},
		{[]string{"locks", dir + "/sem"}, dir + "/sem is a semaphore, not a lock: try `zkcoord semaphore " + dir + "/sem`", kindNotARecipe},
		{[]string{"locks", dir + "/sem/leases"}, dir + "/sem/leases holds a semaphore's leases, it is not a lock: try `zkcoord semaphore " + dir + "/sem`", kindNotARecipe},
		{[]string{"locks", dir + "/election"}, dir + "/election is a leader election, not a lock: try `zkcoord leader " + dir + "/election`", kindNotARecipe},
		{[]string{"leader", dir + "/mutex"}, dir + "/mutex is a lock, not an election: try `zkcoord locks " + dir + "/mutex`", kindNotARecipe},
		{[]string{"leader", "--watch", dir + "/config"}, dir + "/config is not an election", kindNotARecipe},
		{[]string{"semaphore", dir + "/config"}, dir + `/config is not a semaphore: it has no contender children, and it holds 5 bytes of data ("hello")`, kindNotARecipe},
		{[]string{"semaphore", dir + "/mutex"}, dir + "/mutex is a lock, not a semaphore", kindNotARecipe},
		{[]string{"semaphore", dir + "/absent"}, "nothing at " + dir + "/absent", kindNotFound},
		{[]string{"semaphore", dir + "/sem/leases"}, dir + "/sem/leases holds a semaphore's leases, it is not a semaphore: try `zkcoord semaphore " + dir + "/sem`", kindNotARecipe},
	} {
		path := tc.args[len(tc.args)-1]
		before := stat(t, m, path)
		r := zkcoord(t, nil, append([]string{"--servers", strings.Join(c.Servers(), ",")}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("zkcoord %q: exit %d, stderr %q, stdout %q; want exit 1 and one line with %q", tc.args, r.code, r.stderr, r.stdout, tc.want)
		}
		untouched(t, m, path, before)

		r = zkcoord(t, nil, append([]string{"--servers", strings.Join(c.Servers(), ","), "--json"}, tc.args...)...)
		doc := decode[struct {
			Error struct {
				Kind     string `json:"kind"`
				Message  string `json:"message"`
				ExitCode int    `json:"exit_code"`
			} `json:"error"`
		}](t, r)
		if r.code != 1 || doc.Error.Kind != tc.kind || doc.Error.ExitCode != 1 || !strings.Contains(doc.Error.Message, tc.want) {
			t.Errorf("zkcoord --json %q: exit %d, %+v; want kind %s", tc.args, r.code, doc.Error, tc.kind)
		}
	}
}

// Usage errors exit 2 before any connection is tried, naming the fault
// and the help to read.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"locks", "--bogus", "/a"}, "unknown flag: --bogus"},
		{[]string{"locks", "/a", "--json", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"locks"}, "missing argument: zkcoord locks needs the path to inspect"},
		{[]string{"semaphore", "/a", "/b"}, "zkcoord semaphore takes one path, got 2 arguments"},
		{[]string{"leader", "a/b"}, `invalid path "a/b": not absolute`},
		{[]string{"locks", "/a/"}, `invalid path "/a/": trailing /`},
		{[]string{"locks", "/zookeeper/quota"}, `invalid path "/zookeeper/quota"`},
		{[]string{"lokcs", "/a"}, `unknown command "lokcs"`},
		{[]string{"--timeout", "0s", "locks", "/a"}, "--timeout must be positive"},
		{[]string{"--timeout", "soon", "locks", "/a"}, `invalid argument "soon" for "--timeout"`},
		{[]string{"--servers", "127.0.0.1:99999", "locks", "/a"}, `--servers: "127.0.0.1:99999": bad port`},
		{[]string{"leader", "--watch=maybe", "/a"}, `invalid argument "maybe" for "--watch"`},
		{[]string{"ensemble", "status", "extra"}, `unknown command "extra"`},
	} {
		r := zkcoord(t, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("zkcoord %q: exit %d, stderr %q; want exit 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
		if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, ".go:") {
			t.Errorf("zkcoord %q: a stack trace: %s", tc.args, r.stderr)
		}
	}
}

// An ensemble that cannot be reached: one line naming the address and
// what to try, exit 1, quickly.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	for _, args := range [][]string{
		{"--servers", addr, "locks", "/a"},
		{"--servers", addr, "leader", "--watch", "/a"},
		{"--servers", addr, "--json", "semaphore", "/a"},
	} {
		start := time.Now()
		r := zkcoord(t, nil, args...)
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if r.code != 1 || len(lines) != 1 || !strings.Contains(r.stderr, "cannot reach ZooKeeper at "+addr+" (from --servers): connection refused") ||
			!strings.Contains(r.stderr, "`zkcoord ensemble up`") || !strings.Contains(r.stderr, "ZK_SERVERS") {
			t.Errorf("zkcoord %q: exit %d, stderr %q", args, r.code, r.stderr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("zkcoord %q took %v to say the server is unreachable", args, took)
		}
		if slices.Contains(args, "--json") && !strings.Contains(r.stdout, `"kind": "connection"`) {
			t.Errorf("zkcoord %q: stdout %q", args, r.stdout)
		}
	}
	r := zkcoord(t, map[string]string{"ZK_SERVERS": addr}, "locks", "/a")
	if r.code != 1 || !strings.Contains(r.stderr, "at "+addr+" (from ZK_SERVERS)") {
		t.Errorf("with ZK_SERVERS: exit %d, stderr %q", r.code, r.stderr)
	}
	r = zkcoord(t, map[string]string{"ZKCOORD_ENSEMBLE_DIR": t.TempDir()}, "locks", "/a")
	if r.code != 1 || !strings.Contains(r.stderr, "no ZooKeeper ensemble given: pass --servers host:port,..., set ZK_SERVERS, or start a local one with `zkcoord ensemble up`") {
		t.Errorf("with nothing configured: exit %d, stderr %q", r.code, r.stderr)
	}
	r = zkcoord(t, nil, "--servers", addr, "ensemble", "status")
	if r.code != 1 || !strings.Contains(r.stdout, addr) || !strings.Contains(r.stdout, "connection refused") || !strings.Contains(r.stderr, "only 0 of 1 servers serve") {
		t.Errorf("ensemble status: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A server that accepts connections but never answers (a ZooKeeper
// without quorum, a wrong port): exit 1 after --timeout.
func TestNoSession(t *testing.T) {
	t.Parallel()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	defer func() {
		ln.Close()
		<-accepted
		for _, c := range conns {
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	r := zkcoord(t, nil, "--servers", addr, "--timeout", "500ms", "semaphore", "/a")
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 ||
		!strings.Contains(r.stderr, "cannot reach ZooKeeper at "+addr+" (from --servers): no session within 500ms") ||
		!strings.Contains(r.stderr, "`zkcoord ensemble up`") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// A Curator semaphore stores no limit: every lease is listed as held.
func TestSemaphoreWithoutLimit(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	curator := manager(t, c.Servers(), "curator")
	contender(t, curator, dir+"/leases", curatorPrefix(recipes.MarkerLease), "10.0.0.21")
	contender(t, curator, dir+"/leases", curatorPrefix(recipes.MarkerLease), "10.0.0.22")
	contender(t, curator, dir+"/locks", curatorPrefix(recipes.MarkerLock), "10.0.0.23")
	r := decode[semaphoreReport](t, inspect(t, c.Servers(), "semaphore", "--json", dir))
	if r.Limit != nil || len(r.OverLimit) != 0 {
		t.Errorf("limit %v, over limit %v", r.Limit, r.OverLimit)
	}
	if got := identities(r.Holders); !slices.Equal(got, []string{"10.0.0.21", "10.0.0.22"}) {
		t.Errorf("holders %q", got)
	}
	if got := identities(r.Waiters); !slices.Equal(got, []string{"10.0.0.23"}) {
		t.Errorf("waiters %q", got)
	}
	text := inspect(t, c.Servers(), "semaphore", dir).stdout
	if want := dir + ": semaphore, limit unknown (not stored), 2 leases held, 1 contender waiting"; !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// The ensemble comes from --servers, else ZK_SERVERS, else the state
// `zkcoord ensemble up` records; `ensemble status` reports on it.
func TestServersFromEnvironment(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), "zk-holder")
	mu, _ := mutex.New(m, dir)
	l, err := mu.Lock(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(context.Background())
	servers := strings.Join(c.Servers(), ",")

	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, ensembleStateFile), []byte(fmt.Sprintf(`{"servers": [%q, %q, %q]}`, c.Servers()[0], c.Servers()[1], c.Servers()[2])), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		ok   bool
	}{
		{map[string]string{"ZK_SERVERS": servers}, nil, true},
		{map[string]string{"ZKCOORD_ENSEMBLE_DIR": state}, nil, true},
		{map[string]string{"ZK_SERVERS": closedPort(t), "ZKCOORD_ENSEMBLE_DIR": state}, []string{"--servers", servers}, true},
		{map[string]string{"ZKCOORD_ENSEMBLE_DIR": state}, []string{"--servers", closedPort(t)}, false},
	} {
		r := zkcoord(t, tc.env, append(tc.args, "locks", dir)...)
		if (r.code == 0) != tc.ok || tc.ok && !strings.Contains(r.stdout, `held by "zk-holder"`) {
			t.Errorf("env %v, args %q: exit %d, stdout %q, stderr %q", tc.env, tc.args, r.code, r.stdout, r.stderr)
		}
	}

	r := zkcoord(t, map[string]string{}, "ensemble", "status", "--dir", state)
	if r.code != 0 || !strings.Contains(r.stdout, "ensemble from the ensemble recorded in "+state+": 3 of 3 servers serving") {
		t.Errorf("ensemble status: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = zkcoord(t, map[string]string{"ZK_SERVERS": servers}, "ensemble", "status", "--json")
	st := decode[ensembleReport](t, r)
	if r.code != 0 || st.Source != "ZK_SERVERS" || !st.Quorum || st.Serving != 3 || len(st.Servers) != 3 {
		t.Errorf("ensemble status --json: exit %d, %+v", r.code, st)
	}
	var modes []string
	for _, s := range st.Servers {
		if !s.Reachable || !s.Serving || !strings.HasPrefix(s.Zxid, "0x") || s.Version == "" || s.Error != "" {
			t.Errorf("server %+v", s)
		}
		modes = append(modes, s.Mode)
	}
	if !c.External() {
		slices.Sort(modes)
		if !slices.Equal(modes, []string{"follower", "follower", "leader"}) {
			t.Errorf("modes %q", modes)
		}
	}
}
