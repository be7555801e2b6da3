package interop_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/zktest"
)

// TestCurator shares locks between zkcoord and Apache Curator: one JVM,
// compiled and started once, serves every subtest; each subtest has its own
// zkcoord driver, lock and handles (named after the subtest, since the
// JVM's handles outlive it).
func TestCurator(t *testing.T) {
	cu := compileCurator(t)
	c := zktest.Shared(t)
	java := cu.start(t, c.Servers())

	// Two zkcoord and two Curator contenders take the lock 25 times each;
	// the critical section would see a second holder (its marker node
	// exists) or a lost update (the log's version moved).
	t.Run("MutexExclusion", func(t *testing.T) {
		fx := newFixture(t, c)
		g := startGo(t, c)
		const rounds = 25
		hs := []struct {
			p *peer
			h string
		}{{g, "mx.g1"}, {g, "mx.g2"}, {java, "mx.c1"}, {java, "mx.c2"}}
		for _, x := range hs {
			x.p.mutex(t, x.h, fx.lock)
		}
		for _, x := range hs {
			x.p.loop(t, x.h, rounds, fx.cs)
		}
		for _, x := range hs {
			x.p.loopDone(t, x.h)
		}
		log := fx.log()
		if len(log) != len(hs)*rounds {
			t.Errorf("log has %d entries, want %d: %d updates lost", len(log), len(hs)*rounds, len(hs)*rounds-len(log))
		}
		for _, x := range hs {
			if n := count(log, x.h); n != rounds {
				t.Errorf("%s appended %d times, want %d", x.h, n, rounds)
			}
		}
		fx.finish(g.session)
	})

	// While a zkcoord client holds the lock, zkcoord and Curator waiters
	// queue in turn; released, they acquire in the order they queued, as
	// zkcoord's inspection showed them.
	t.Run("MutexFIFO", func(t *testing.T) {
		fx := newFixture(t, c)
		g := startGo(t, c)
		observer := newMutex(t, fx, fx.lock)
		g.mutex(t, "ff.g0", fx.lock)
		g.lock(t, "ff.g0")
		g.locked(t, "ff.g0")
		order := []struct {
			p *peer
			h string
		}{{g, "ff.g1"}, {java, "ff.c2"}, {g, "ff.g3"}, {java, "ff.c4"}, {g, "ff.g5"}, {java, "ff.c6"}}
		var want []string
		for _, w := range order {
			w.p.mutex(t, w.h, fx.lock)
			w.p.once(t, w.h, fx.cs)
			want = append(want, w.h)
			st := mutexQueue(t, fx, observer, "ff.g0", want...)
			for i, p := range st.Waiters {
				if p.Marker != recipes.MarkerLock || p.Session != order[i].p.session {
					t.Errorf("waiter %d %s: marker %q session 0x%x, want %q 0x%x (%s)",
						i, p.Identity, p.Marker, p.Session, recipes.MarkerLock, order[i].p.session, order[i].p.name)
				}
			}
			if err := st.Warning(); err != nil {
				t.Errorf("Curator and zkcoord only: %v", err)
			}
		}
		g.unlock(t, "ff.g0")
		for _, w := range order {
			w.p.onceDone(t, w.h)
		}
		if got := fx.log(); !slices.Equal(got, want) {
			t.Errorf("acquired in the order %v, queued in %v", got, want)
		}
		fx.finish(g.session)
	})

	// zkcoord's inspection names a Curator holder and Curator waiters by the
	// data on their nodes and their sessions, in queue order.
	t.Run("MutexStatus", func(t *testing.T) {
		fx := newFixture(t, c)
		g := startGo(t, c)
		observer := newMutex(t, fx, fx.lock)
		java.mutex(t, "ms.c1", fx.lock)
		g.mutex(t, "ms.g2", fx.lock)
		java.mutex(t, "ms.c3", fx.lock)
		java.lock(t, "ms.c1")
		java.locked(t, "ms.c1")
		g.lock(t, "ms.g2")
		mutexQueue(t, fx, observer, "ms.c1", "ms.g2")
		java.lock(t, "ms.c3")
		st := mutexQueue(t, fx, observer, "ms.c1", "ms.g2", "ms.c3")
		sessions := []int64{java.session, g.session, java.session}
		for i, p := range append([]recipes.Participant{*st.Holder}, st.Waiters...) {
			if p.Session != sessions[i] || p.Marker != recipes.MarkerLock {
				t.Errorf("%s: session 0x%x marker %q, want 0x%x %q", p.Identity, p.Session, p.Marker, sessions[i], recipes.MarkerLock)
			}
			if c, ok := recipes.ParseContender(p.Name); !ok || c.ProtectedID == "" {
				t.Errorf("%s: %s is not a protected name like zkcoord's", p.Identity, p.Name)
			}
		}
		java.unlock(t, "ms.c1")
		g.locked(t, "ms.g2")
		mutexQueue(t, fx, observer, "ms.g2", "ms.c3")
		g.unlock(t, "ms.g2")
		java.locked(t, "ms.c3")
		mutexQueue(t, fx, observer, "ms.c3")
		java.unlock(t, "ms.c3")
		mutexQueue(t, fx, observer, "")
		fx.finish(g.session)
	})

	// Readers hold together and writers alone, whichever language holds and
	// whichever waits, first step by step, with zkcoord's inspection
	// checked at each, then under load.
	t.Run("RWLock", func(t *testing.T) {
		fx := newFixture(t, c)
		g := startGo(t, c)
		observer, err := rwlock.New(fx.m, fx.lock)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"rw.gr1", "rw.gr2", "rw.gw1"} {
			if h[4] == 'r' {
				g.reader(t, h, fx.lock)
			} else {
				g.writer(t, h, fx.lock)
			}
		}
		for _, h := range []string{"rw.jr1", "rw.jr2", "rw.jw1"} {
			if h[4] == 'r' {
				java.reader(t, h, fx.lock)
			} else {
				java.writer(t, h, fx.lock)
			}
		}
		// A zkcoord reader holds; a Curator reader joins it at once.
		g.lock(t, "rw.gr1")
		g.locked(t, "rw.gr1")
		java.lock(t, "rw.jr1")
		java.locked(t, "rw.jr1")
		rwQueue(t, fx, observer, "R:rw.gr1 R:rw.jr1 |")
		// A Curator writer waits for both; a zkcoord reader waits behind it.
		java.lock(t, "rw.jw1")
		rwQueue(t, fx, observer, "R:rw.gr1 R:rw.jr1 | W:rw.jw1")
		g.lock(t, "rw.gr2")
		rwQueue(t, fx, observer, "R:rw.gr1 R:rw.jr1 | W:rw.jw1 R:rw.gr2")
		g.unlock(t, "rw.gr1")
		rwQueue(t, fx, observer, "R:rw.jr1 | W:rw.jw1 R:rw.gr2")
		if java.saw("locked rw.jw1") {
			t.Fatal("Curator's writer acquired while Curator's reader held")
		}
		java.unlock(t, "rw.jr1")
		java.locked(t, "rw.jw1")
		rwQueue(t, fx, observer, "W:rw.jw1 | R:rw.gr2")
		// A zkcoord writer queues behind the zkcoord reader; a Curator
		// reader behind that writer.
		g.lock(t, "rw.gw1")
		java.lock(t, "rw.jr2")
		rwQueue(t, fx, observer, "W:rw.jw1 | R:rw.gr2 W:rw.gw1 R:rw.jr2")
		if g.saw("locked rw.gr2") {
			t.Fatal("zkcoord's reader acquired while Curator's writer held")
		}
		java.unlock(t, "rw.jw1")
		g.locked(t, "rw.gr2")
		rwQueue(t, fx, observer, "R:rw.gr2 | W:rw.gw1 R:rw.jr2")
		g.unlock(t, "rw.gr2")
		g.locked(t, "rw.gw1")
		rwQueue(t, fx, observer, "W:rw.gw1 | R:rw.jr2")
		if java.saw("locked rw.jr2") {
			t.Fatal("Curator's reader acquired while zkcoord's writer held")
		}
		g.unlock(t, "rw.gw1")
		java.locked(t, "rw.jr2")
		java.unlock(t, "rw.jr2")
		rwQueue(t, fx, observer, "|")

		// Under load: two readers and a writer in each language.
		const rounds = 15
		hs := []struct {
			p *peer
			h string
		}{{g, "rw.gr1"}, {g, "rw.gr2"}, {g, "rw.gw1"}, {java, "rw.jr1"}, {java, "rw.jr2"}, {java, "rw.jw1"}}
		for _, x := range hs {
			x.p.loop(t, x.h, rounds, fx.cs)
		}
		for _, x := range hs {
			x.p.loopDone(t, x.h)
		}
		if log := fx.log(); len(log) != 2*rounds {
			t.Errorf("writers appended %d times, want %d", len(log), 2*rounds)
		}
		fx.finish(g.session)
	})

	// At most max permits are held across zkcoord and Curator holders, the
	// waiters are served in turn, and zkcoord's inspection names them.
	t.Run("Semaphore", func(t *testing.T) {
		fx := newFixture(t, c)
		g := startGo(t, c)
		const max = 2
		observer, err := semaphore.New(fx.m, fx.lock, max)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"sm.g1", "sm.g2"} {
			g.semaphore(t, h, fx.lock, max)
		}
		for _, h := range []string{"sm.c1", "sm.c2"} {
			java.semaphore(t, h, fx.lock, max)
		}
		g.lock(t, "sm.g1")
		g.locked(t, "sm.g1")
		java.lock(t, "sm.c1")
		java.locked(t, "sm.c1")
		semQueue(t, fx, observer, "sm.g1 sm.c1 |")

		// zkcoord stores the limit on the semaphore's node, as text.
		// Curator's int-limit semaphore keeps it nowhere (each client
		// trusts its own), and ignores the node's data.
		if data, _, err := fx.epoch().Get(fx.ctx, fx.lock); err != nil || string(data) != "2" {
			t.Errorf("semaphore node holds %q (%v), want zkcoord's limit %q", data, err, "2")
		}

		g.lock(t, "sm.g2")
		semQueue(t, fx, observer, "sm.g1 sm.c1 | sm.g2")
		java.unlock(t, "sm.c1")
		g.locked(t, "sm.g2")
		semQueue(t, fx, observer, "sm.g1 sm.g2 |")
		// zkcoord holds every permit: Curator waits, first the one holding
		// the internal lock, then one queued for that lock. Curator's
		// semaphore writes its node data on leases only: its internal
		// lock's nodes carry the client's default data.
		java.lock(t, "sm.c1")
		semQueue(t, fx, observer, "sm.g1 sm.g2 | curator-driver")
		java.lock(t, "sm.c2")
		semQueue(t, fx, observer, "sm.g1 sm.g2 | curator-driver curator-driver")
		if java.saw("locked sm.c1") || java.saw("locked sm.c2") {
			t.Fatal("Curator took a third permit")
		}
		g.unlock(t, "sm.g1")
		java.locked(t, "sm.c1")
		semQueue(t, fx, observer, "sm.g2 sm.c1 | curator-driver")
		g.unlock(t, "sm.g2")
		java.locked(t, "sm.c2")
		semQueue(t, fx, observer, "sm.c1 sm.c2 |")
		// Curator holds every permit: zkcoord waits.
		g.lock(t, "sm.g1")
		semQueue(t, fx, observer, "sm.c1 sm.c2 | sm.g1")
		if g.saw("locked sm.g1") {
			t.Fatal("zkcoord took a third permit")
		}
		java.unlock(t, "sm.c1")
		g.locked(t, "sm.g1")
		semQueue(t, fx, observer, "sm.c2 sm.g1 |")
		java.unlock(t, "sm.c2")
		g.unlock(t, "sm.g1")
		semQueue(t, fx, observer, "|")

		// Under load: every holder counts the holders in its critical section.
		const rounds = 15
		hs := []struct {
			p *peer
			h string
		}{{g, "sm.g1"}, {g, "sm.g2"}, {java, "sm.c1"}, {java, "sm.c2"}}
		for _, x := range hs {
			x.p.loop(t, x.h, rounds, fx.cs)
		}
		for _, x := range hs {
			x.p.loopDone(t, x.h)
		}
		if log := fx.log(); len(log) != len(hs)*rounds {
			t.Errorf("log has %d entries, want %d", len(log), len(hs)*rounds)
		}
		// zkcoord's semaphore node is persistent, so that the limit outlives
		// idle spells: retire it once the server has reaped its containers.
		eventually(t, "semaphore node retired", func() (bool, string) {
			err := fx.epoch().Delete(fx.ctx, fx.lock, -1)
			return err == nil || errors.Is(err, zk.ErrNoNode), fmt.Sprint(err)
		})
		fx.finish(g.session)
	})

	// A Curator semaphore whose limit is a SharedCount at the semaphore's
	// own path stores it as a 4-byte big-endian int; zkcoord, which stores
	// and reads decimal text there, must refuse that node rather than guess
	// a limit, and leave nothing behind.
	t.Run("SemaphoreSharedCount", func(t *testing.T) {
		fx := newFixture(t, c)
		java.do(t, "ok sc.count", "count sc.count %s 2", fx.lock)
		java.do(t, "ok sc.c1", "semcount sc.c1 %s sc.count sc.c1", fx.lock)
		java.lock(t, "sc.c1")
		java.locked(t, "sc.c1")
		if data, _, err := fx.epoch().Get(fx.ctx, fx.lock); err != nil || string(data) != "\x00\x00\x00\x02" {
			t.Fatalf("SharedCount node holds %q (%v), want 4-byte big-endian 2", data, err)
		}
		s, err := semaphore.New(fx.m, fx.lock, 2)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Acquire(fx.ctx, 1)
		if !errors.Is(err, recipes.ErrInvalidPath) {
			t.Fatalf("zkcoord's Acquire on a SharedCount node: %v, want ErrInvalidPath", err)
		}
		t.Logf("as expected: %v", err)
		semQueue(t, fx, s, "sc.c1 |")
		java.unlock(t, "sc.c1")
		java.do(t, "closed sc.count", "close sc.count")
		fx.epoch().Delete(fx.ctx, fx.lock+"/locks", -1)
		fx.epoch().Delete(fx.ctx, fx.lock+"/leases", -1)
		if err := fx.epoch().Delete(fx.ctx, fx.lock, -1); err != nil {
			t.Errorf("deleting the SharedCount node: %v", err)
		}
		fx.finish()
	})

	t.Run("Election", func(t *testing.T) { testElection(t, c, java) })

	// Curator waiters right behind zkcoord holders that may mark their
	// nodes (issue 13) acquire as each releases: see behind_test.go.
	t.Run("MutexBehindZkcoordHolder", func(t *testing.T) { testMutexBehindMarked(t, c, java, "mb") })
	t.Run("RWLockBehindZkcoordWriter", func(t *testing.T) { testRWLockBehindMarked(t, c, java) })
	t.Run("LatchBehindZkcoordLeader", func(t *testing.T) { testLatchBehindLeader(t, c, java) })
	// The same with the mark made by the test, today; and the control: a
	// mark stalls LeaderLatch.
	t.Run("MutexBehindMarkedNode", func(t *testing.T) { testPeerBehindMarkedNode(t, c, java, "mm", false) })
	t.Run("RWLockBehindMarkedWriter", func(t *testing.T) { testPeerBehindMarkedNode(t, c, java, "rm", true) })
	t.Run("LatchLosesWatchOnMark", func(t *testing.T) { testLatchLosesWatchOnMark(t, c, java) })

	// Curator orders kazoo's "__lock__" names by the whole name, after its
	// own: with a kazoo client holding, a Curator client acquires too.
	// zkcoord and kazoo see the true order, and zkcoord's inspection warns.
	t.Run("MixedWithKazoo", func(t *testing.T) {
		kz := findKazoo(t).start(t, c.Servers())
		fx := newFixture(t, c)
		fx.persistLock()
		g := startGo(t, c)
		observer := newMutex(t, fx, fx.lock)
		kz.mutex(t, "mk.k1", fx.lock)
		java.mutex(t, "mk.c2", fx.lock)
		g.mutex(t, "mk.g3", fx.lock)
		kz.lock(t, "mk.k1")
		kz.locked(t, "mk.k1")
		java.lock(t, "mk.c2")
		java.locked(t, "mk.c2") // the hazard: both hold
		g.lock(t, "mk.g3")
		st := mutexQueue(t, fx, observer, "mk.k1", "mk.c2", "mk.g3")
		if st.Holder.Marker != recipes.MarkerKazooLock || st.Holder.Session != kz.session {
			t.Errorf("holder: marker %q session 0x%x, want %q 0x%x", st.Holder.Marker, st.Holder.Session, recipes.MarkerKazooLock, kz.session)
		}
		err := st.Warning()
		if !errors.Is(err, mutex.ErrMixedLayouts) {
			t.Errorf("Status.Warning with kazoo and Curator contenders: %v, want ErrMixedLayouts", err)
		}
		t.Logf("warning: %v", err)
		java.unlock(t, "mk.c2")
		if g.saw("locked mk.g3") {
			t.Fatal("zkcoord acquired while kazoo held")
		}
		kz.unlock(t, "mk.k1")
		g.locked(t, "mk.g3")
		g.unlock(t, "mk.g3")
		mutexQueue(t, fx, observer, "")
		fx.finish(g.session)
	})
}

func count(log []string, h string) int {
	n := 0
	for _, e := range log {
		if e == h {
			n++
		}
	}
	return n
}

func newMutex(t testing.TB, fx *fixture, path string) *mutex.Mutex {
	t.Helper()
	mu, err := mutex.New(fx.m, path)
	if err != nil {
		t.Fatal(err)
	}
	return mu
}

// mutexQueue waits until zkcoord's Status shows holder (none if "") and
// then waiters, by identity, and returns it.
func mutexQueue(t testing.TB, fx *fixture, mu *mutex.Mutex, holder string, waiters ...string) mutex.Status {
	t.Helper()
	var st mutex.Status
	want := fmt.Sprint(holder, " | ", waiters)
	if holder == "" {
		want = fmt.Sprint(" | ", []string{})
	}
	eventually(t, "mutex status "+want, func() (bool, string) {
		var err error
		st, err = mu.Status(fx.ctx)
		if err != nil {
			return false, err.Error()
		}
		h := ""
		if st.Holder != nil {
			h = st.Holder.Identity
		}
		got := fmt.Sprint(h, " | ", names(st.Waiters, identity))
		return got == want, got
	})
	return st
}

func identity(p recipes.Participant) string { return p.Identity }

// rwQueue waits until zkcoord's Status shows the queue want, spelled
// "R:<holder> W:<holder> | R:<waiter> ...".
func rwQueue(t testing.TB, fx *fixture, rw *rwlock.RWLock, want string) rwlock.Status {
	t.Helper()
	var st rwlock.Status
	spell := func(ps []rwlock.Participant) string {
		s := ""
		for _, p := range ps {
			k := "?"
			switch p.Kind {
			case rwlock.Read:
				k = "R"
			case rwlock.Write:
				k = "W"
			}
			s += k + ":" + p.Identity + " "
		}
		return s
	}
	eventually(t, "rwlock status "+want, func() (bool, string) {
		var err error
		st, err = rw.Status(fx.ctx)
		if err != nil {
			return false, err.Error()
		}
		got := spell(st.Holders) + "|"
		if w := spell(st.Waiters); w != "" {
			got += " " + w[:len(w)-1]
		}
		return got == want, got
	})
	return st
}

// semQueue waits until zkcoord's Status shows the permit holders and the
// waiters want, spelled "<holder> ... | <waiter> ...".
func semQueue(t testing.TB, fx *fixture, s *semaphore.Semaphore, want string) semaphore.Status {
	t.Helper()
	var st semaphore.Status
	eventually(t, "semaphore status "+want, func() (bool, string) {
		var err error
		st, err = s.Status(fx.ctx)
		if err != nil {
			return false, err.Error()
		}
		got := ""
		for _, p := range st.Holders {
			got += p.Identity + " "
		}
		got += "|"
		for _, p := range st.Waiters {
			got += " " + p.Identity
		}
		return got == want, got
	})
	return st
}
