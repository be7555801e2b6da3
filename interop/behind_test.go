package interop_test

// Peers right behind a zkcoord holder (issue 13).
//
// zkcoord is to "mark" the node of a mutex holder, or of an rwlock's write
// holder, that is granted with others queued behind it: a setData of the
// node's own bytes at expected version 0, leaving it at version 1, so that
// a zkcoord waiter behind it may take the lock on its deletion without a
// read. A peer's watch on that node then fires for the data change before
// the deletion. Curator's lock internals and kazoo's Lock wake on any
// event on their predecessor and list again: a mark costs them a listing,
// and must never stall them. Curator's LeaderLatch sets its one-shot watch
// on its predecessor again only when that node is deleted: a mark would
// stall it, so zkcoord's election never marks.
//
// The first tests here put a Curator or kazoo waiter right behind zkcoord
// holders granted while others wait, release in turn, and bound every
// handover by step. They read each zkcoord holder's node through the
// test's own session while it holds: a lock's node may be marked (version
// 1, data unchanged), which is reported, not required, so the tests pass
// before and after the change; an election node's version must stay 0.
// Until zkcoord marks, the tests further down make the mark themselves, on
// a node of their own in zkcoord's layout, and check that the peer behind
// it armed its watch again and acquires on its deletion; their control
// shows that LeaderLatch does not.
//
// kazoo's Election has no test here: it is a kazoo Lock ("__lock__" nodes),
// which zkcoord's election does not count as candidates, and which counts
// none of zkcoord's "latch-" nodes, so the two cannot share an election.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/zktest"
)

// contender is one handle of one driver.
type contender struct {
	p *peer
	h string
}

func handlesOf(cs []contender) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.h
	}
	return out
}

// testMutexBehindMarked queues, behind a zkcoord holder g0, the zkcoord
// waiter g1, other's waiter x2 and then zkcoord's g3, g4 and other's x5,
// and releases each in turn. g1 and g4 are granted with others waiting
// (they would mark) and have other's waiter right behind them, whose watch
// was set on their node while they still waited; g3 is too, with a zkcoord
// waiter behind it. Each must acquire within step of its predecessor's
// release, and none before.
func testMutexBehindMarked(t *testing.T, c *zktest.Cluster, other *peer, prefix string) {
	fx := newFixture(t, c)
	if other.name == "kazoo" {
		fx.persistLock()
	}
	g := startGo(t, c)
	observer := newMutex(t, fx, fx.lock)
	x := other.name[:1]
	q := []contender{
		{g, prefix + ".g0"}, {g, prefix + ".g1"}, {other, prefix + "." + x + "2"},
		{g, prefix + ".g3"}, {g, prefix + ".g4"}, {other, prefix + "." + x + "5"},
	}
	for _, w := range q {
		w.p.mutex(t, w.h, fx.lock)
	}
	q[0].p.lock(t, q[0].h)
	q[0].p.locked(t, q[0].h)
	for i := 1; i < len(q); i++ {
		q[i].p.lock(t, q[i].h)
		mutexQueue(t, fx, observer, q[0].h, handlesOf(q[1:i+1])...)
	}
	releaseInTurn(t, fx, g, q, other.name+"'s node", func(i int) string {
		return mutexQueue(t, fx, observer, q[i].h, handlesOf(q[i+1:])...).Holder.Name
	})
	mutexQueue(t, fx, observer, "")
	fx.finish(g.session)
}

// releaseInTurn releases q's holders in turn. head(i) checks the queue with
// q[i] holding and returns the holder's node name. A zkcoord holder granted
// with others queued behind it must mark its node, and every node of g's
// must keep its data; the next in q must acquire within step of each
// release, none before. peerNode names a peer's node in failures.
func releaseInTurn(t *testing.T, fx *fixture, g *peer, q []contender, peerNode string, head func(i int) string) {
	t.Helper()
	for i, holder := range q {
		name := head(i)
		noneAhead(t, holder, q[i+1:])
		node := peerNode
		if holder.p == g {
			path := fx.lock + "/" + name
			if i > 0 && i+1 < len(q) {
				// Granted at the head with others queued behind it.
				awaitMarked(t, fx, path, holder.h)
			}
			node = fmt.Sprintf("node at version %d", assertNodeVersion0Or1SameData(t, fx, path, holder.h))
		}
		if i+1 == len(q) {
			holder.p.unlock(t, holder.h)
			return
		}
		handOff(t, holder, q[i+1], node)
	}
}

// testRWLockBehindMarked is testMutexBehindMarked for Curator's
// InterProcessReadWriteLock: behind zkcoord's writer gw0 queue zkcoord's
// writer gw1, Curator's writer cw2, zkcoord's writer gw3 and Curator's
// reader cr4. gw1 is granted with others waiting and Curator's writer
// right behind it; gw3 with Curator's reader right behind it, which
// watches the writer ahead of it as a writer watches its predecessor.
func testRWLockBehindMarked(t *testing.T, c *zktest.Cluster, java *peer) {
	fx := newFixture(t, c)
	g := startGo(t, c)
	observer, err := rwlock.New(fx.m, fx.lock)
	if err != nil {
		t.Fatal(err)
	}
	q := []contender{{g, "rb.gw0"}, {g, "rb.gw1"}, {java, "rb.cw2"}, {g, "rb.gw3"}, {java, "rb.cr4"}}
	// spell is the queue as rwQueue spells it: q[i] holding, q[i+1:n]
	// waiting.
	spell := func(i, n int) string { return rwSpell(handlesOf(q[i:n])...) }
	for _, w := range q {
		if isReader(w.h) {
			w.p.reader(t, w.h, fx.lock)
		} else {
			w.p.writer(t, w.h, fx.lock)
		}
	}
	q[0].p.lock(t, q[0].h)
	q[0].p.locked(t, q[0].h)
	for i := 1; i < len(q); i++ {
		q[i].p.lock(t, q[i].h)
		rwQueue(t, fx, observer, spell(0, i+1))
	}
	releaseInTurn(t, fx, g, q, "Curator's node", func(i int) string {
		return rwQueue(t, fx, observer, spell(i, len(q))).Holders[0].Name
	})
	rwQueue(t, fx, observer, "|")
	fx.finish(g.session)
}

// testLatchBehindLeader queues, behind zkcoord's leader g0, zkcoord's g1,
// Curator's LeaderLatch c2, zkcoord's g3 and Curator's c4. g1 and g3 lead
// with others waiting (where a lock would mark) and a LeaderLatch right
// behind them, whose one-shot watch was set on their node while they
// waited; g1 also proclaims a value while it leads. Each leader's node must
// stay at version 0 with its data unchanged, and each successor lead within
// step of its predecessor resigning, none before.
func testLatchBehindLeader(t *testing.T, c *zktest.Cluster, java *peer) {
	fx := newFixture(t, c)
	g := startGo(t, c)
	observer, err := election.New(fx.m, fx.lock)
	if err != nil {
		t.Fatal(err)
	}
	q := []contender{{g, "lb.g0"}, {g, "lb.g1"}, {java, "lb.c2"}, {g, "lb.g3"}, {java, "lb.c4"}}
	for _, w := range q {
		w.p.do(t, "ok "+w.h, "latch %s %s %s", w.h, fx.lock, w.h)
	}
	q[0].p.lock(t, q[0].h)
	q[0].p.locked(t, q[0].h)
	for i := 1; i < len(q); i++ {
		q[i].p.lock(t, q[i].h)
		electionQueue(t, fx, observer, strings.Join(handlesOf(q[:i+1]), " "))
	}
	for i, leader := range q {
		ps := electionQueue(t, fx, observer, strings.Join(handlesOf(q[i:]), " "))
		noneAhead(t, leader, q[i+1:])
		node := "Curator's node"
		if leader.p == g {
			path := fx.lock + "/" + ps[0].Name
			v := assertNodeVersion0SameData(t, fx, path, leader.h)
			if leader.h == "lb.g1" {
				g.do(t, "proclaimed "+leader.h, "proclaim %s http://%s", leader.h, leader.h)
				v = assertNodeVersion0SameData(t, fx, path, leader.h)
			}
			node = fmt.Sprintf("node at version %d", v)
		}
		if i+1 == len(q) {
			leader.p.unlock(t, leader.h)
			break
		}
		handOff(t, leader, q[i+1], node)
	}
	electionQueue(t, fx, observer, "")
	fx.finish(g.session)
}

// noneAhead fails the test if any of waiting has acquired while holder
// holds.
func noneAhead(t *testing.T, holder contender, waiting []contender) {
	t.Helper()
	for _, w := range waiting {
		if w.p.saw("locked " + w.h) {
			t.Fatalf("%s %s acquired while %s %s held", w.p.name, w.h, holder.p.name, holder.h)
		}
	}
}

// handOff releases from, whose node is described by node ("node at
// version 1"), and waits up to step for next, right behind it, to acquire.
// A next that does not is stalled behind from: the test fails saying so.
func handOff(t *testing.T, from, next contender, node string) {
	t.Helper()
	handOffBy(t, from.p.name+" "+from.h, func() { from.p.unlock(t, from.h) }, next, node)
}

// handOffBy is handOff with from's release done by release.
func handOffBy(t *testing.T, from string, release func(), next contender, node string) {
	t.Helper()
	start := time.Now()
	release()
	released := time.Since(start)
	if _, err := next.p.await("locked "+next.h, step); err != nil {
		t.Fatalf("STALL: %s %s, right behind %s (%s), did not acquire within %v of its release: %s: %v%s",
			next.p.name, next.h, from, node, step, next.p.name, err, next.p.stderrTail())
	}
	t.Logf("%s (%s) released in %v; %s %s acquired %v later",
		from, node, released.Round(time.Millisecond), next.p.name, next.h, (time.Since(start) - released).Round(time.Millisecond))
}

// holderNode reads a zkcoord holder's node through the test's own session,
// after a sync, so that it is at least as recent as the driver's writes.
func holderNode(t *testing.T, fx *fixture, path string) ([]byte, *zk.Stat) {
	t.Helper()
	ep := fx.epoch()
	if err := ep.Sync(fx.ctx, path); err != nil {
		t.Fatalf("sync %s: %v", path, err)
	}
	data, stat, err := ep.Get(fx.ctx, path)
	if errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("holder's node %s is gone while it holds", path)
	}
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return data, stat
}

// assertNodeVersion0Or1SameData checks a zkcoord lock holder's node: at
// version 0 (unmarked) or 1 (marked once, by a setData of its own bytes at
// version 0, issue 13), with its data still identity. It reports and
// returns the version, so the tests pass with and without marking.
func assertNodeVersion0Or1SameData(t *testing.T, fx *fixture, path, identity string) int32 {
	t.Helper()
	data, stat := holderNode(t, fx, path)
	if stat.Version != 0 && stat.Version != 1 {
		t.Errorf("%s (%s) is at version %d: a holder's node is written at most once, its mark", path, identity, stat.Version)
	}
	if !bytes.Equal(data, []byte(identity)) {
		t.Errorf("%s (%s) holds %q, want its identity %q unchanged", path, identity, data, identity)
	}
	marked := "unmarked"
	if stat.Version == 1 {
		marked = "marked"
	}
	t.Logf("holder %s: node version %d (%s)", identity, stat.Version, marked)
	return stat.Version
}

// awaitMarked waits, at most step, for a zkcoord holder granted at the head
// of the queue with others behind it to mark its node (version 1).
func awaitMarked(t *testing.T, fx *fixture, path, identity string) {
	t.Helper()
	deadline := time.Now().Add(step)
	for {
		_, stat := holderNode(t, fx, path)
		if stat.Version == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (%s) holds with others queued behind it, but its node is at version %d after %v: not marked", path, identity, stat.Version, step)
		}
		time.Sleep(5 * time.Millisecond) // polling another session's write, for at most step
	}
}

// assertNodeVersion0SameData checks a zkcoord leader's node: never written
// since its creation (version 0), its data still identity. A Curator
// LeaderLatch behind it would miss the leader's resignation otherwise. It
// returns the version.
func assertNodeVersion0SameData(t *testing.T, fx *fixture, path, identity string) int32 {
	t.Helper()
	data, stat := holderNode(t, fx, path)
	if stat.Version != 0 {
		t.Errorf("zkcoord leader %s: node %s at version %d, want 0: a LeaderLatch behind it renews its watch only on deletion", identity, path, stat.Version)
	}
	if !bytes.Equal(data, []byte(identity)) {
		t.Errorf("zkcoord leader %s: node %s holds %q, want %q unchanged", identity, path, data, identity)
	}
	t.Logf("zkcoord leader %s: node version %d", identity, stat.Version)
	return stat.Version
}

// isReader tells the handles of the read side of a read-write lock: named
// "<prefix>.<driver letter>r<n>", as "rb.cr4".
func isReader(h string) bool {
	_, name, _ := strings.Cut(h, ".")
	return len(name) > 1 && name[1] == 'r'
}

// rwSpell is the queue as rwQueue spells it, holders[0] holding and the
// rest waiting.
func rwSpell(hs ...string) string {
	if len(hs) == 0 {
		return "|"
	}
	s := ""
	for i, h := range hs {
		if i > 0 {
			s += " "
		}
		if isReader(h) {
			s += "R:" + h
		} else {
			s += "W:" + h
		}
		if i == 0 {
			s += " |"
		}
	}
	return s
}

// The tests above hold until zkcoord marks. Those below make the mark
// themselves, today: the test's own session plays a zkcoord contender (a
// node named as zkcoord names it, "_c_<uuid>-<marker><seq>") that is
// granted with the peer's waiter right behind it, whose watch is on it; it
// marks its node exactly as zkcoord is to (setData of the same bytes at
// version 0), then deletes it. Between the two, the peer must have armed a
// watch on the node again, which ZooKeeper's wchc shows once every server
// has applied the mark (the mark fired and removed the earlier watch), and
// must not have acquired; after the deletion it must acquire within step.

// testPeerBehindMarkedNode queues, behind zkcoord's holder g0, the test's
// contender s1, other's waiter x2 and a last contender: zkcoord's g3 in a
// mutex, or in a read-write lock (write), where s1 and x2 are writers,
// Curator's reader cr3, which watches the first writer ahead of it, s1 and
// then x2. (Curator's two contenders then share a session: that session
// watching s1 again after the mark is one of them re-arming, and each
// acquiring in turn is the proof that neither stalled.)
func testPeerBehindMarkedNode(t *testing.T, c *zktest.Cluster, other *peer, prefix string, write bool) {
	fx := newFixture(t, c)
	if other.name == "kazoo" {
		fx.persistLock()
	}
	g := startGo(t, c)
	x := other.name[:1]
	g0, s1, x2 := contender{g, prefix + ".g0"}, prefix+".s1", contender{other, prefix + "." + x + "2"}
	last := contender{g, prefix + ".g3"}
	cmd, marker := "mutex", recipes.MarkerLock
	var queue func(hs ...string) string // waits for zkcoord's Status to show hs, the holder first; returns the holder's node
	if write {
		last = contender{other, prefix + "." + x + "r3"}
		cmd, marker = "write", recipes.MarkerWrite
		observer, err := rwlock.New(fx.m, fx.lock)
		if err != nil {
			t.Fatal(err)
		}
		queue = func(hs ...string) string {
			st := rwQueue(t, fx, observer, rwSpell(hs...))
			if len(st.Holders) == 0 {
				return ""
			}
			return st.Holders[0].Name
		}
	} else {
		observer := newMutex(t, fx, fx.lock)
		queue = func(hs ...string) string {
			if len(hs) == 0 {
				mutexQueue(t, fx, observer, "")
				return ""
			}
			return mutexQueue(t, fx, observer, hs[0], hs[1:]...).Holder.Name
		}
	}
	for _, w := range []contender{g0, x2, last} {
		verb := cmd
		if isReader(w.h) {
			verb = "read"
		}
		w.p.do(t, "ok "+w.h, "%s %s %s %s", verb, w.h, fx.lock, w.h)
	}
	g0.p.lock(t, g0.h)
	g0.p.locked(t, g0.h)
	queue(g0.h)
	node := createContender(t, fx, marker, s1)
	queue(g0.h, s1)
	x2.p.lock(t, x2.h)
	queue(g0.h, s1, x2.h)
	last.p.lock(t, last.h)
	queue(g0.h, s1, x2.h, last.h)

	g0.p.unlock(t, g0.h)
	if got := fx.lock + "/" + queue(s1, x2.h, last.h); got != node {
		t.Fatalf("holder's node %s, want the test's %s", got, node)
	}
	watching(t, c, other.session, node, 0, fmt.Sprintf("%s %s watches %s", other.name, x2.h, s1))
	mzxid := mark(t, fx, node, s1)
	watching(t, c, other.session, node, mzxid, fmt.Sprintf("%s %s watches %s again after its mark", other.name, x2.h, s1))
	for _, w := range []contender{x2, last} {
		if w.p.saw("locked " + w.h) {
			t.Fatalf("%s %s acquired while %s held, marked", w.p.name, w.h, s1)
		}
	}
	handOffBy(t, "the test's "+s1, func() {
		if err := fx.epoch().Delete(fx.ctx, node, 1); err != nil {
			t.Fatalf("deleting %s: %v", node, err)
		}
	}, x2, "node marked, at version 1")
	queue(x2.h, last.h)
	handOff(t, x2, last, other.name+"'s node")
	queue(last.h)
	last.p.unlock(t, last.h)
	queue()
	fx.finish(g.session)
}

// testLatchLosesWatchOnMark is the control for testLatchBehindLeader and
// testPeerBehindMarkedNode: the test's candidate s1 leads, marked as a lock
// holder would be, with Curator's LeaderLatch c2 right behind it. Once
// every server has applied the mark, c2's session watches s1 no more: the
// mark fired LeaderLatch's one-shot watch, which it renews only when the
// node is deleted, so it would never see s1 go. This is why zkcoord's
// election must never mark, and shows that the wchc check above tells a
// peer that re-arms from one that does not. c2 is then aborted.
func testLatchLosesWatchOnMark(t *testing.T, c *zktest.Cluster, java *peer) {
	fx := newFixture(t, c)
	observer, err := election.New(fx.m, fx.lock)
	if err != nil {
		t.Fatal(err)
	}
	const s1, c2 = "lc.s1", "lc.c2"
	node := createContender(t, fx, recipes.MarkerLatch, s1)
	electionQueue(t, fx, observer, s1)
	java.do(t, "ok "+c2, "latch %s %s %s", c2, fx.lock, c2)
	java.lock(t, c2)
	electionQueue(t, fx, observer, s1+" "+c2)
	watching(t, c, java.session, node, 0, "LeaderLatch "+c2+" watches "+s1)
	mzxid := mark(t, fx, node, s1)
	applied(t, c, mzxid)
	w, err := c.Watches()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(w[java.session], node) {
		t.Errorf("LeaderLatch %s watches %s again after a data change: the premise of zkcoord's election never marking has changed", c2, s1)
	} else {
		t.Logf("as expected: after the mark, LeaderLatch %s no longer watches %s (session 0x%x watches %v)", c2, s1, java.session, w[java.session])
	}
	java.do(t, "aborted "+c2, "abort %s", c2)
	if err := fx.epoch().Delete(fx.ctx, node, 1); err != nil {
		t.Fatalf("deleting %s: %v", node, err)
	}
	electionQueue(t, fx, observer, "")
	if java.saw("locked " + c2) {
		t.Errorf("LeaderLatch %s led", c2)
	}
	fx.finish()
}

// createContender makes, in the test's own session, a contender node as
// zkcoord names it, with identity as data, and returns its path. It makes
// the directory a container first if no peer has made it yet.
func createContender(t *testing.T, fx *fixture, marker, identity string) string {
	t.Helper()
	ep, acl := fx.epoch(), zk.WorldACL(zk.PermAll)
	for range 3 { // the directory may be made, and reaped, meanwhile
		p, err := ep.Create(fx.ctx, fx.lock+"/_c_"+recipes.NewProtectedID()+"-"+marker, []byte(identity), zk.FlagEphemeralSequential, acl)
		if err == nil {
			return p
		}
		if !errors.Is(err, zk.ErrNoNode) {
			t.Fatalf("creating %s's node: %v", identity, err)
		}
		if _, err := ep.CreateContainer(fx.ctx, fx.lock, nil, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatalf("creating %s: %v", fx.lock, err)
		}
	}
	t.Fatalf("creating %s's node: %s keeps vanishing", identity, fx.lock)
	return ""
}

// mark writes a holder's node as zkcoord is to mark it (issue 13): its
// own bytes, identity, at expected version 0. It returns the mark's zxid.
func mark(t *testing.T, fx *fixture, node, identity string) int64 {
	t.Helper()
	st, err := fx.epoch().Set(fx.ctx, node, []byte(identity), 0)
	if err != nil {
		t.Fatalf("marking %s: %v", node, err)
	}
	if v := assertNodeVersion0Or1SameData(t, fx, node, identity); v != 1 {
		t.Fatalf("%s at version %d after its mark, want 1", node, v)
	}
	return st.Mzxid
}

// applied waits until every server has applied the transaction zxid, so
// that the watches it fired are gone from every server's wchc.
func applied(t *testing.T, c *zktest.Cluster, zxid int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("every server at zxid 0x%x", zxid), func() (bool, string) {
		return appliedBy(c, zxid)
	})
}

func appliedBy(c *zktest.Cluster, zxid int64) (bool, string) {
	for i := range c.Servers() {
		out, err := c.FourLetter(i, "srvr")
		if err != nil {
			return false, err.Error()
		}
		z := int64(-1)
		for line := range strings.Lines(out) {
			if v, ok := strings.CutPrefix(line, "Zxid:"); ok {
				if n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "0x"), 16, 64); err == nil {
					z = n
				}
			}
		}
		if z < zxid {
			return false, fmt.Sprintf("server %d at zxid 0x%x", i, z)
		}
	}
	return true, ""
}

// watching waits until session watches path on the server it is connected
// to, once every server has applied the transaction zxid (0 for none).
func watching(t *testing.T, c *zktest.Cluster, session int64, path string, zxid int64, what string) {
	t.Helper()
	eventually(t, what, func() (bool, string) {
		if ok, last := appliedBy(c, zxid); !ok {
			return false, last
		}
		w, err := c.Watches()
		if err != nil {
			return false, err.Error()
		}
		if slices.Contains(w[session], path) {
			return true, ""
		}
		return false, fmt.Sprintf("session 0x%x watches %v", session, w[session])
	})
}
