package main

import (
	"context"
	"fmt"
	"time"
)

// Keys of the systems, as the report and the progress lines name them.
const (
	keyZkcoord     = "zkcoord"
	keyZkLock      = "zklock"
	keyCurator     = "curator"
	keyKazoo       = "kazoo"
	keySem         = "semaphore" // zkcoord's
	keyCuratorSem  = "curator-sem"
	keyKazooSem    = "kazoo-sem"
	opCuratorFloor = "curator-floor"
	opCuratorMutex = "curator-mutex"
	opKazooFloor   = "kazoo-floor"
	opKazooMutex   = "kazoo-mutex"
)

// The peers' session groups: each driver opens the same ones.
const (
	groupUncontended = "u" // one session on the uncontended clients' server
	groupTraced      = "t" // one session on that server, through a tracing proxy
	groupPool        = "p" // cfg.sessions sessions, session i on server i mod 3
	groupSem         = "s" // cfg.semWorkers sessions, the same way
)

// openPeerGroups opens every peer's session groups: pinned to the servers
// exactly as zkbench's own clients of each scenario are.
func openPeerGroups(ctx context.Context, e *env, cfg config, ps *peerSet, server string) error {
	px, err := newProxy(e.trace, server)
	if err != nil {
		return err
	}
	ps.proxies = append(ps.proxies, px)
	spread := func(n int) []string {
		var s []string
		for i := range n {
			s = append(s, e.servers[i%len(e.servers)])
		}
		return s
	}
	for _, p := range ps.all() {
		for _, g := range []struct {
			name    string
			servers []string
		}{
			{groupUncontended, []string{server}},
			{groupTraced, []string{px.addr()}},
			{groupPool, spread(cfg.sessions)},
			{groupSem, spread(cfg.semWorkers)},
		} {
			if err := p.open(ctx, g.name, g.servers); err != nil {
				return err
			}
		}
	}
	return nil
}

// peerBlocks are the peers' operations of the uncontended loop: each
// client's own create+delete, and its lock, on the session every client of
// the loop shares a server with. Traced, each operation runs alone on the
// traced session.
func peerBlocks(e *env, ps *peerSet, dir func(string) string) []blockOp {
	mk := func(p *peer, key, op, name string) blockOp {
		return blockOp{key: key, name: name,
			timed: func(ctx context.Context, n int) ([]time.Duration, error) {
				return p.uncontended(ctx, op, groupUncontended, dir(key), n, 0)
			},
			traced: func(ctx context.Context, n int) ([]shape, error) {
				return peerTraced(ctx, e, p, op, dir(key), n, 0)
			}}
	}
	return []blockOp{
		mk(ps.curator, opCuratorFloor, "floor", "Curator client: create+delete (persistent node)"),
		mk(ps.curator, opCuratorMutex, "mutex", "Curator InterProcessMutex acquire+release"),
		mk(ps.kazoo, opKazooFloor, "floor", "kazoo client: create+delete (persistent node)"),
		mk(ps.kazoo, opKazooMutex, "mutex", "kazoo Lock acquire+release"),
	}
}

// peerTraced runs n operations on the peer's traced session, each in a
// trace window of its own: zkbench opens the window, the driver does one
// operation and answers, zkbench closes it.
func peerTraced(ctx context.Context, e *env, p *peer, op, dir string, n, permits int) ([]shape, error) {
	var ss []shape
	for range n {
		done := e.trace.window()
		_, err := p.uncontended(ctx, op, groupTraced, dir, 1, permits)
		ev := done()
		if err != nil {
			return nil, err
		}
		ss = append(ss, shapeOf(ev))
	}
	return ss, nil
}

// mutexSystems are section 3's and 4's: every system's sessions spread over
// the servers alike.
func mutexSystems(p *pool, ps *peerSet, cfg config, kind string) []system {
	return append(p.systems(),
		peerSystem(ps.curator, keyCurator, "Curator InterProcessMutex", kind, groupPool, cfg.sessions, 0),
		peerSystem(ps.kazoo, keyKazoo, "kazoo Lock", kind, groupPool, cfg.sessions, 0))
}

func semSystems(zk system, ps *peerSet, cfg config) []system {
	return []system{zk,
		peerSystem(ps.curator, keyCuratorSem, fmt.Sprintf("Curator InterProcessSemaphoreV2, %d leases", cfg.semPermits), "sem", groupSem, cfg.semWorkers, cfg.semPermits),
		peerSystem(ps.kazoo, keyKazooSem, fmt.Sprintf("kazoo Semaphore, %d leases", cfg.semPermits), "sem", groupSem, cfg.semWorkers, cfg.semPermits)}
}

func electionSystems(p *pool, ps *peerSet, cfg config) []system {
	return []system{electionSystem(p.managers),
		peerSystem(ps.curator, keyCurator, "Curator LeaderLatch", "failover", groupPool, cfg.sessions, 0),
		peerSystem(ps.kazoo, keyKazoo, "kazoo Election", "failover", groupPool, cfg.sessions, 0)}
}

// warmPeers runs every kind of operation in each driver, unrecorded, before
// anything is measured: the JVM compiles what runs hot (its JIT), and
// CPython fills its caches. In rounds until the peer's time is up: a block
// of each uncontended operation, a contended run of the mutex and of the
// semaphore; then a short relay of each kind. CPython has no JIT, so
// kazoo's time is shorter.
func warmPeers(ctx context.Context, e *env, cfg config, ps *peerSet) (map[string]warmInfo, error) {
	info := map[string]warmInfo{}
	for _, p := range ps.all() {
		t0 := time.Now()
		budget := cfg.warmJVM
		if p != ps.curator {
			budget = cfg.warmPython
		}
		base := fmt.Sprintf("%s/warmup/%s", e.root, p.key)
		for _, d := range []string{"/floor", "/mutex", "/contended", "/sem/locks", "/sem/leases", "/sem-__lock__", "/handoff", "/failover"} {
			if err := ensurePath(e.admin, base+d); err != nil {
				return nil, err
			}
		}
		if _, err := e.admin.Set(base+"/sem", []byte(fmt.Sprint(cfg.semPermits)), -1); err != nil {
			return nil, err
		}
		var w warmInfo
		for round := 1; round == 1 || time.Since(t0) < budget; round++ {
			var mutex []time.Duration
			for _, op := range []string{"floor", "mutex"} {
				d, err := p.uncontended(ctx, op, groupUncontended, base+"/"+op, cfg.block, 0)
				if err != nil {
					return nil, fmt.Errorf("warm-up: %w", err)
				}
				w.ops += len(d)
				mutex = d
			}
			rate, _, err := p.contended(ctx, "mutex", groupPool, base+"/contended", cfg.sessions*cfg.perClient/2, 0, 0)
			if err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
			if _, _, err := p.contended(ctx, "sem", groupSem, base+"/sem", cfg.semWorkers*cfg.semPerWorker/2, 0, cfg.semPermits); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
			w.acqs += cfg.sessions*cfg.perClient/2 + cfg.semWorkers*cfg.semPerWorker/2
			w.rounds = round
			w.last = warmRound{summarize(mutex).p50, rate}
			if round == 1 {
				w.first = w.last
			}
			e.progress("warm-up: %s round %d: uncontended mutex median %v, contended %.0f acq/s", p.key, round,
				w.last.mutex.Round(time.Microsecond), rate)
		}
		sp := chainSpec{skip: 0, want: cfg.warmChain, settle: 2 * time.Millisecond}
		for _, kind := range []string{"handoff", "failover"} {
			if _, err := p.chain(ctx, kind, groupPool, base+"/"+kind, cfg.sessions-1, sp); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
		w.took = time.Since(t0)
		info[p.key] = w
		e.progress("warm-up: %s: %d rounds, %d uncontended operations, %d contended acquisitions, %d handoffs and %d failovers, unrecorded (%v)",
			p.key, w.rounds, w.ops, w.acqs, cfg.warmChain, cfg.warmChain, w.took.Round(time.Millisecond))
	}
	return info, nil
}

// warmInfo is what a peer's warm-up did, for the report: how its figures
// moved from the first round to the last says what the JIT was worth.
type warmInfo struct {
	rounds, ops, acqs int
	took              time.Duration
	first, last       warmRound
}

type warmRound struct {
	mutex time.Duration // uncontended lock+unlock, median of a block
	rate  float64       // contended acquisitions per second
}

// peerChainWire counts on the wire what one handoff (kind handoff) or
// failover (kind failover) of each peer does: n times, a holder and one
// waiter on the peer's traced session, and the handover alone in a trace
// window. zkbench's own systems are traced in the relay itself.
func peerChainWire(ctx context.Context, e *env, ps *peerSet, kind string, n int, settle time.Duration) (map[string]shapes, error) {
	out := map[string]shapes{}
	for _, p := range ps.all() {
		dir := fmt.Sprintf("%s/%s/%s-wire", e.root, kind, p.key)
		if err := ensurePath(e.admin, dir); err != nil {
			return nil, err
		}
		var ss []shape
		for range n {
			if _, err := p.call(ctx, "ok", "pair", kind, groupTraced, dir, settle.Milliseconds()); err != nil {
				return nil, err
			}
			done := e.trace.window()
			_, err := p.call(ctx, "ok", "handover")
			ev := done()
			if err != nil {
				return nil, err
			}
			if _, err := p.call(ctx, "ok", "unpair"); err != nil {
				return nil, err
			}
			ss = append(ss, shapeOf(ev))
		}
		out[p.key] = summarizeShapes(ss)
	}
	return out, nil
}
