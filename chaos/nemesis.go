package chaos

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
	"github.com/zkcoord/zkcoord/zktest"
)

// Fault kinds, in the order the report lists them.
const (
	KillLeader   = "kill-leader"   // kill -9 the leader, restart it
	KillFollower = "kill-follower" // kill -9 a follower, restart it
	QuorumLoss   = "quorum-loss"   // kill -9 two of three servers, restart both
	Partition    = "partition"     // cut or blackhole one client from every server, past the session timeout
	Pause        = "pause"         // SIGSTOP the mutex holder past the session timeout, then SIGCONT
	Latency      = "latency"       // delay one client's link both ways
	// IsolateHolder cuts the mutex holder's server off from its peers,
	// past the session timeout; the holder's link to every server stays.
	IsolateHolder = "isolate-holder-server"
	// IsolateLeader cuts the leader off from its peers and the clients
	// attached to it from the other servers: the minority side of a
	// partition, past the session timeout.
	IsolateLeader = "isolate-leader"
	// OneWayCut drops what one server sends to another, for a while.
	OneWayCut = "one-way-cut"
)

// FaultKinds lists every kind the nemesis injects.
var FaultKinds = []string{KillLeader, KillFollower, QuorumLoss, Partition, Pause, Latency, IsolateHolder, IsolateLeader, OneWayCut}

// Fault is one injected fault. Times are on the shared clock.
type Fault struct {
	N      int
	Kind   string
	Target string
	Detail string
	Start  int64 // injected
	Heal   int64 // healed: server serving again, link healed, process resumed
	// Pause only.
	Client   int              // the paused client
	Held     map[string]int64 // what it held when stopped, by key
	Takeover bool             // a newer token was written to both registers before it resumed
	Landed   bool             // it held the mutex when stopped
}

type nemesis struct {
	cfg     Config
	rng     *rand.Rand
	c       *zktest.Cluster
	links   []*zktest.Link
	clients []*proc
	st      *live
	keys    []string
	t0      int64

	faults []*Fault
	killed map[int]bool
	paused map[int]bool
}

func (n *nemesis) logf(format string, args ...any) {
	n.cfg.Logf("chaos: %6.1fs  %s", time.Duration(proto.Now()-n.t0).Seconds(), fmt.Sprintf(format, args...))
}

// between is a random duration in [lo, hi].
func (n *nemesis) between(lo, hi time.Duration) time.Duration {
	return (lo + time.Duration(n.rng.Int64N(int64(hi-lo)+1))).Round(time.Millisecond)
}

// target picks the client a link fault hits: most often the mutex holder,
// whose lease is what the fault puts to the test, else anyone.
func (n *nemesis) target() int {
	k := n.rng.IntN(len(n.clients))
	pickHolder := n.rng.IntN(3) < 2
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	if pickHolder {
		for c := range len(n.clients) {
			if _, ok := n.st.holding[c][proto.KeyMutex]; ok {
				return c
			}
		}
	}
	return k
}

// hold keeps a fault in place for d: a scheduled duration, not a wait for
// a condition.
func (n *nemesis) hold(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// run injects faults until the duration is over and every kind was
// injected at least once, one at a time: inject, hold, heal, then wait for
// the lock to be acquired again before the next.
func (n *nemesis) run(ctx context.Context) error {
	end := proto.Now() + int64(n.cfg.Duration)
	queue := make([]string, 0, len(FaultKinds))
	for _, i := range n.rng.Perm(len(FaultKinds)) {
		queue = append(queue, FaultKinds[i])
	}
	retries := 0
	for {
		if err := context.Cause(ctx); err != nil {
			return err
		}
		if len(queue) == 0 {
			if proto.Now() >= end {
				return nil
			}
			queue = append(queue, FaultKinds[n.rng.IntN(len(FaultKinds))])
		}
		f := &Fault{N: len(n.faults) + 1, Kind: queue[0]}
		queue = queue[1:]
		n.faults = append(n.faults, f)
		if err := n.inject(ctx, f); err != nil {
			return fmt.Errorf("chaos: fault %d (%s): %w", f.N, f.Kind, err)
		}
		n.logf("fault %d %s %s healed after %v%s", f.N, f.Kind, f.Target,
			time.Duration(f.Heal-f.Start).Round(time.Millisecond), f.Detail)
		// The unfenced control needs one pause that caught a holder; a
		// pause that came just after a release is tried again.
		if f.Kind == Pause && !f.Landed && !n.landedPause() && retries < 3 {
			retries++
			queue = append([]string{Pause}, queue...)
		}
		n.awaitProgress(ctx, f.Heal)
		if err := n.hold(ctx, n.between(300*time.Millisecond, time.Second)); err != nil {
			return err
		}
	}
}

func (n *nemesis) landedPause() bool {
	for _, f := range n.faults {
		if f.Kind == Pause && f.Landed {
			return true
		}
	}
	return false
}

// awaitProgress waits until every key was acquired at or after t, or a
// generous deadline passes: the check itself, with its strict bound, is
// the checker's. Here it only keeps the next fault from starting before
// the system recovered from the last.
func (n *nemesis) awaitProgress(ctx context.Context, t int64) {
	wctx, cancel := context.WithTimeout(ctx, n.cfg.SessionTimeout+10*time.Second)
	defer cancel()
	err := n.st.wait(wctx, func() bool {
		for _, k := range n.keys {
			if !n.st.acquiredSince(k, t) {
				return false
			}
		}
		return true
	})
	if err != nil && ctx.Err() == nil {
		n.logf("no acquisition of every key within %v of the heal", n.cfg.SessionTimeout+10*time.Second)
	}
}

func (n *nemesis) inject(ctx context.Context, f *Fault) error {
	switch f.Kind {
	case KillLeader, KillFollower:
		return n.killServer(ctx, f)
	case QuorumLoss:
		return n.quorumLoss(ctx, f)
	case Partition:
		return n.partition(ctx, f)
	case Pause:
		return n.pause(ctx, f)
	case Latency:
		return n.latency(ctx, f)
	case IsolateHolder:
		return n.isolateHolder(ctx, f)
	case IsolateLeader:
		return n.isolateLeader(ctx, f)
	case OneWayCut:
		return n.oneWayCut(ctx, f)
	}
	return fmt.Errorf("unknown fault %q", f.Kind)
}

// leader waits for the ensemble to name one.
func (n *nemesis) leader(ctx context.Context) (int, error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second+10*n.c.Options().TickTime)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		i, err := n.c.Leader()
		if err == nil {
			return i, nil
		}
		select {
		case <-t.C:
		case <-wctx.Done():
			return -1, fmt.Errorf("%w: %w", context.Cause(wctx), err)
		}
	}
}

func (n *nemesis) kill(i int) error {
	n.killed[i] = true
	return n.c.Kill(i)
}

// restart brings servers back and returns once the ensemble serves.
func (n *nemesis) restart(ctx context.Context, servers ...int) error {
	for _, i := range servers {
		if err := n.c.Restart(i); err != nil {
			return err
		}
		delete(n.killed, i)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second+10*n.c.Options().TickTime)
	defer cancel()
	return n.c.WaitServing(wctx)
}

func (n *nemesis) killServer(ctx context.Context, f *Fault) error {
	leader, err := n.leader(ctx)
	if err != nil {
		return err
	}
	victim := leader
	if f.Kind == KillFollower {
		victim = (leader + 1 + n.rng.IntN(2)) % 3
	}
	f.Target = fmt.Sprintf("server %d", victim)
	down := n.between(300*time.Millisecond, 2*time.Second)
	f.Detail = fmt.Sprintf(" (down %v)", down)
	f.Start = proto.Now()
	if err := n.kill(victim); err != nil {
		return err
	}
	if err := n.hold(ctx, down); err != nil {
		return err
	}
	if err := n.restart(ctx, victim); err != nil {
		return err
	}
	f.Heal = proto.Now()
	return nil
}

func (n *nemesis) quorumLoss(ctx context.Context, f *Fault) error {
	p := n.rng.Perm(3)
	a, b := p[0], p[1]
	f.Target = fmt.Sprintf("servers %d,%d", a, b)
	down := n.between(time.Second, n.cfg.SessionTimeout+2*time.Second)
	f.Detail = fmt.Sprintf(" (down %v)", down)
	f.Start = proto.Now()
	if err := n.kill(a); err != nil {
		return err
	}
	if err := n.kill(b); err != nil {
		return err
	}
	if err := n.hold(ctx, down); err != nil {
		return err
	}
	if err := n.restart(ctx, a, b); err != nil {
		return err
	}
	f.Heal = proto.Now()
	return nil
}

func (n *nemesis) partition(ctx context.Context, f *Fault) error {
	k := n.target()
	l := n.links[k]
	blackhole := n.rng.IntN(2) == 0
	how := "cut"
	if blackhole {
		how = "blackholed"
	}
	cut := n.cfg.SessionTimeout + n.between(500*time.Millisecond, 2*time.Second)
	f.Target = fmt.Sprintf("client %d", k)
	f.Client = k
	f.Detail = fmt.Sprintf(" (%s for %v)", how, cut)
	f.Start = proto.Now()
	if blackhole {
		l.Blackhole()
	} else {
		l.Cut()
	}
	err := n.hold(ctx, cut)
	l.Heal()
	f.Heal = proto.Now()
	return err
}

func (n *nemesis) latency(ctx context.Context, f *Fault) error {
	k := n.target()
	d := n.between(20*time.Millisecond, 100*time.Millisecond)
	dur := n.between(2*time.Second, 4*time.Second)
	f.Target = fmt.Sprintf("client %d", k)
	f.Client = k
	f.Detail = fmt.Sprintf(" (+%v each way for %v)", d, dur)
	f.Start = proto.Now()
	n.links[k].SetLatency(d)
	err := n.hold(ctx, dur)
	n.links[k].SetLatency(0)
	f.Heal = proto.Now()
	return err
}

// pause stops the client that has just acquired the mutex, keeps it
// stopped past the session timeout and until a newer holder has written to
// both registers, then resumes it: the seed scenario, a holder that wakes
// up late and acts on a lease it no longer has.
func (n *nemesis) pause(ctx context.Context, f *Fault) error {
	n.st.mu.Lock()
	seen := len(n.st.acquired[proto.KeyMutex])
	n.st.mu.Unlock()
	var acq proto.Event
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := n.st.wait(wctx, func() bool {
		a := n.st.acquired[proto.KeyMutex]
		for _, ev := range a[seen:] {
			if n.st.holding[ev.Client][proto.KeyMutex] == ev.Token {
				acq = ev
				return true
			}
		}
		return false
	})
	cancel()
	if err != nil {
		return fmt.Errorf("no fresh mutex holder to pause: %w", err)
	}
	k := acq.Client
	f.Client = k
	f.Target = fmt.Sprintf("client %d", k)
	if err := n.clients[k].signal(syscall.SIGSTOP); err != nil {
		return err
	}
	n.paused[k] = true
	f.Start = proto.Now()
	n.st.mu.Lock()
	f.Held = maps.Clone(n.st.holding[k])
	n.st.mu.Unlock()

	stopped := n.cfg.SessionTimeout + n.between(200*time.Millisecond, time.Second)
	if err := n.hold(ctx, stopped); err != nil {
		return err
	}
	wctx, cancel = context.WithTimeout(ctx, n.cfg.SessionTimeout+15*time.Second)
	err = n.st.wait(wctx, func() bool {
		for key, tok := range f.Held {
			if n.st.accepted[proto.RegFenced][key] <= tok || n.st.accepted[proto.RegUnfenced][key] <= tok {
				return false
			}
		}
		return true
	})
	cancel()
	f.Takeover = err == nil
	if err := n.clients[k].signal(syscall.SIGCONT); err != nil {
		return err
	}
	delete(n.paused, k)
	f.Heal = proto.Now()

	// Did the stop land inside the hold? The client's next word on the
	// mutex says: a loss, or a release it began after it was stopped.
	wctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	err = n.st.wait(wctx, func() bool {
		l := n.st.last[k][proto.KeyMutex]
		return l.Ev != proto.EvAcquired || l.T != acq.T
	})
	cancel()
	if err != nil {
		return fmt.Errorf("client %d said nothing about its lease within 30s of resuming: %w", k, err)
	}
	n.st.mu.Lock()
	l := n.st.last[k][proto.KeyMutex]
	n.st.mu.Unlock()
	f.Landed = l.Ev == proto.EvLost || l.T > f.Start
	f.Detail = fmt.Sprintf(" (stopped %v holding token %d; takeover before resume: %v; landed in the hold: %v)",
		time.Duration(f.Heal-f.Start).Round(time.Millisecond), acq.Token, f.Takeover, f.Landed)
	return nil
}

// cleanup undoes whatever fault is still in place.
func (n *nemesis) cleanup(ctx context.Context) error {
	for k := range n.paused {
		_ = n.clients[k].signal(syscall.SIGCONT)
		delete(n.paused, k)
	}
	for _, l := range n.links {
		l.Heal()
		l.SetLatency(0)
	}
	if err := n.c.HealPeers(); err != nil {
		return err
	}
	var servers []int
	for i := range n.killed {
		servers = append(servers, i)
	}
	if len(servers) > 0 {
		return n.restart(context.WithoutCancel(ctx), servers...)
	}
	return nil
}
