package election_test

import (
	"errors"
	"path"
	"regexp"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// The life of one election: a leader, a waiter, a proclaimed value that
// observers read with the identity intact, a resignation that hands over
// with a larger token, and an empty election at the end.
func TestCampaignProclaimResign(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	ma, mb := manager(t, c.Servers(), healthy), manager(t, c.Servers(), healthy)
	a := newElection(t, ma, dir, election.WithIdentity("svc-a"))
	b := newElection(t, mb, dir, election.WithIdentity("svc-b"))
	watcher := newElection(t, manager(t, c.Servers(), healthy), dir)

	if p, err := watcher.Leader(ctx); err != nil || p != nil {
		t.Fatalf("leader of an election nobody entered: %+v %v", p, err)
	}
	before := time.Now().Add(-time.Minute)
	la := lead(t, ctx, a)
	bch := campaign(ctx, b)
	queued(t, ctx, watcher, 2)

	p, err := watcher.Leader(ctx)
	if err != nil || p == nil || p.Identity != "svc-a" || p.Value != nil || p.Name != base(la.Path()) {
		t.Fatalf("leader: %+v %v", p, err)
	}
	if p.Since.Before(before) || p.Session != ma.Current().SessionID() || p.Zxid > la.Token() {
		t.Fatalf("leader details: %+v (token %d)", p, la.Token())
	}

	if err := la.Proclaim(ctx, []byte("10.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	p, err = watcher.Leader(ctx)
	if err != nil || p.Identity != "svc-a" || string(p.Value) != "10.0.0.1:8080" {
		t.Fatalf("after Proclaim: %+v %v", p, err)
	}
	ps, err := watcher.Participants(ctx)
	if err != nil || len(ps) != 2 || ps[0].Identity != "svc-a" || string(ps[0].Value) != "10.0.0.1:8080" || ps[1].Identity != "svc-b" || ps[1].Value != nil {
		t.Fatalf("participants: %+v %v", ps, err)
	}
	// The leader's node keeps Curator's plain id, so the candidate watching
	// it is never woken by a Proclaim; the value is in the directory.
	ep, _ := ma.Epoch(ctx)
	if data, _, err := ep.Get(ctx, la.Path()); err != nil || string(data) != "svc-a" {
		t.Fatalf("leader node data %q %v", data, err)
	}
	if data, _, err := ep.Get(ctx, dir); err != nil || string(data) != recipes.Base(la.Path())+"\x0010.0.0.1:8080" {
		t.Fatalf("directory data %q %v", data, err)
	}
	// An empty value withdraws it.
	if err := la.Proclaim(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if p, err := watcher.Leader(ctx); err != nil || p.Value != nil {
		t.Fatalf("after withdrawal: %+v %v", p, err)
	}
	if la.Err() != nil {
		t.Fatalf("Proclaim ended the term: %v", la.Err())
	}

	select {
	case e := <-bch:
		t.Fatalf("b elected while a leads: %+v", e)
	default:
	}
	if err := la.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	lb := await(t, bch, 10*time.Second).l
	if lb.Token() <= la.Token() {
		t.Fatalf("token %d after %d", lb.Token(), la.Token())
	}
	if p, err := watcher.Leader(ctx); err != nil || p == nil || p.Identity != "svc-b" {
		t.Fatalf("leader after resignation: %+v %v", p, err)
	}
	if !errors.Is(la.Err(), recipes.ErrReleased) {
		t.Fatalf("Err after Resign: %v", la.Err())
	}
	if err := lb.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := watcher.Leader(ctx); err != nil || p != nil {
		t.Fatalf("leader after everyone resigned: %+v %v", p, err)
	}
	clean(t, c, dir, ma, mb)
}

// Our candidates' nodes are named as Curator's LeaderLatch names them,
// and a node a Curator peer created (its id as plain data) is a candidate
// like ours: it leads, it is reported with its id, our candidate waits for
// it.
func TestCuratorLayout(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	el := newElection(t, m, dir, election.WithIdentity("go-1"))
	l := lead(t, ctx, el)
	curatorName := regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-latch-[0-9]{10}$`)
	if !curatorName.MatchString(base(l.Path())) {
		t.Fatalf("node %s is not in Curator's LeaderLatch layout", base(l.Path()))
	}
	if err := l.Resign(ctx); err != nil {
		t.Fatal(err)
	}

	// A Java peer, as Curator 5 writes it: protected, sequential, id as data.
	java := manager(t, c.Servers(), healthy)
	jep, _ := java.Epoch(ctx)
	// The server reaps an empty container at any moment (every 100ms here):
	// create it again until our node lands in it, as Curator does.
	var jpath string
	for {
		_, err := jep.CreateContainer(ctx, dir, nil, zk.WorldACL(zk.PermAll))
		if errors.Is(err, zk.ErrNoNode) { // the container above was reaped too
			if err := recipes.EnsurePath(ctx, java, path.Dir(dir), nil); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatal(err)
		}
		jpath, err = jep.Create(ctx, dir+"/_c_1b4e28ba-2fa1-11d2-883f-0016d3cca427-latch-", []byte("java-scheduler-1"), zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll))
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	p, err := el.Leader(ctx)
	if err != nil || p == nil || p.Identity != "java-scheduler-1" || p.Value != nil {
		t.Fatalf("Curator leader: %+v %v", p, err)
	}
	ch := campaign(ctx, el)
	queued(t, ctx, el, 2)
	select {
	case e := <-ch:
		t.Fatalf("elected while a Curator peer leads: %+v", e)
	default:
	}
	if err := jep.Delete(ctx, jpath, -1); err != nil {
		t.Fatal(err)
	}
	l = await(t, ch, 10*time.Second).l
	if err := l.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	clean(t, c, dir, m, java)
}
