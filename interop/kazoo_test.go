package interop_test

import (
	"slices"
	"testing"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// TestKazoo shares a mutex between zkcoord and kazoo's Lock, given
// extra_lock_patterns=["-lock-"] so that it counts zkcoord's nodes as
// contenders (zkcoord counts kazoo's "__lock__" nodes without being told).
// One kazoo driver serves every subtest. The lock directory is made a
// persistent node first, as kazoo needs (see fixture.persistLock).
func TestKazoo(t *testing.T) {
	kz := findKazoo(t)
	c := zktest.Shared(t)
	py := kz.start(t, c.Servers())

	t.Run("MutexExclusion", func(t *testing.T) {
		fx := newFixture(t, c)
		fx.persistLock()
		g := startGo(t, c)
		const rounds = 25
		hs := []struct {
			p *peer
			h string
		}{{g, "kx.g1"}, {g, "kx.g2"}, {py, "kx.k1"}, {py, "kx.k2"}}
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

	t.Run("MutexFIFO", func(t *testing.T) {
		fx := newFixture(t, c)
		fx.persistLock()
		g := startGo(t, c)
		observer := newMutex(t, fx, fx.lock)
		g.mutex(t, "kf.g0", fx.lock)
		g.lock(t, "kf.g0")
		g.locked(t, "kf.g0")
		order := []struct {
			p      *peer
			h      string
			marker string
		}{
			{g, "kf.g1", recipes.MarkerLock}, {py, "kf.k2", recipes.MarkerKazooLock},
			{g, "kf.g3", recipes.MarkerLock}, {py, "kf.k4", recipes.MarkerKazooLock},
			{g, "kf.g5", recipes.MarkerLock}, {py, "kf.k6", recipes.MarkerKazooLock},
		}
		var want []string
		for _, w := range order {
			w.p.mutex(t, w.h, fx.lock)
			w.p.once(t, w.h, fx.cs)
			want = append(want, w.h)
			st := mutexQueue(t, fx, observer, "kf.g0", want...)
			for i, p := range st.Waiters {
				if p.Marker != order[i].marker || p.Session != order[i].p.session {
					t.Errorf("waiter %d %s: marker %q session 0x%x, want %q 0x%x (%s)",
						i, p.Identity, p.Marker, p.Session, order[i].marker, order[i].p.session, order[i].p.name)
				}
			}
		}
		g.unlock(t, "kf.g0")
		for _, w := range order {
			w.p.onceDone(t, w.h)
		}
		if got := fx.log(); !slices.Equal(got, want) {
			t.Errorf("acquired in the order %v, queued in %v", got, want)
		}
		fx.finish(g.session)
	})

	// kazoo waiters right behind zkcoord holders that may mark their nodes
	// (issue 13) acquire as each releases: see behind_test.go. (kazoo's
	// Election cannot share zkcoord's election: there is no election here.)
	t.Run("MutexBehindZkcoordHolder", func(t *testing.T) { testMutexBehindMarked(t, c, py, "kb") })
	t.Run("MutexBehindMarkedNode", func(t *testing.T) { testPeerBehindMarkedNode(t, c, py, "km", false) })

	// zkcoord's inspection names a kazoo holder and kazoo waiters by their
	// identifier (the node data) and session, in queue order. zkcoord's
	// own names look like Curator's, so it warns of the mix it cannot tell
	// from a Curator one.
	t.Run("MutexStatus", func(t *testing.T) {
		fx := newFixture(t, c)
		fx.persistLock()
		g := startGo(t, c)
		observer := newMutex(t, fx, fx.lock)
		py.mutex(t, "ks.k1", fx.lock)
		g.mutex(t, "ks.g2", fx.lock)
		py.mutex(t, "ks.k3", fx.lock)
		py.lock(t, "ks.k1")
		py.locked(t, "ks.k1")
		st := mutexQueue(t, fx, observer, "ks.k1")
		if err := st.Warning(); err != nil {
			t.Errorf("kazoo alone: %v", err)
		}
		g.lock(t, "ks.g2")
		mutexQueue(t, fx, observer, "ks.k1", "ks.g2")
		py.lock(t, "ks.k3")
		st = mutexQueue(t, fx, observer, "ks.k1", "ks.g2", "ks.k3")
		type want struct {
			session int64
			marker  string
		}
		wants := []want{{py.session, recipes.MarkerKazooLock}, {g.session, recipes.MarkerLock}, {py.session, recipes.MarkerKazooLock}}
		for i, p := range append([]recipes.Participant{*st.Holder}, st.Waiters...) {
			if p.Session != wants[i].session || p.Marker != wants[i].marker {
				t.Errorf("%s: session 0x%x marker %q, want 0x%x %q", p.Identity, p.Session, p.Marker, wants[i].session, wants[i].marker)
			}
		}
		if st.Warning() == nil {
			t.Error("no warning for kazoo and Curator-layout nodes in one lock")
		}
		py.unlock(t, "ks.k1")
		g.locked(t, "ks.g2")
		mutexQueue(t, fx, observer, "ks.g2", "ks.k3")
		g.unlock(t, "ks.g2")
		py.locked(t, "ks.k3")
		py.unlock(t, "ks.k3")
		mutexQueue(t, fx, observer, "")
		fx.finish(g.session)
	})
}
