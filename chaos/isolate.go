package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
)

// Faults between servers (zktest's Isolate and CutPeer). A server cut off
// from its peers keeps answering its clients for up to syncLimit × tickTime
// while the leader hears nothing of their sessions: the window a holder's
// safe deadline must allow for.

// syncWindow is how long a server cut off from the leader may serve on.
func (n *nemesis) syncWindow() time.Duration {
	o := n.c.Options()
	return time.Duration(o.SyncLimit) * o.TickTime
}

// isolation is how long an isolation lasts: past the session timeout and
// the window, so that a session seen only by the isolated server expires.
func (n *nemesis) isolation() time.Duration {
	return n.cfg.SessionTimeout + n.syncWindow() + n.between(500*time.Millisecond, 2*time.Second)
}

// holder waits for a client to hold the mutex and returns it with the
// server it is attached to.
func (n *nemesis) holder(ctx context.Context) (client, server int, err error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = n.st.wait(wctx, func() bool {
		for c := range n.clients {
			if _, ok := n.st.holding[c][proto.KeyMutex]; ok {
				if a := n.links[c].Attached(); len(a) > 0 {
					client, server = c, a[len(a)-1]
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return -1, -1, fmt.Errorf("no mutex holder attached to a server: %w", err)
	}
	return client, server, nil
}

// healPeers restores the links between servers and waits until the
// ensemble serves.
func (n *nemesis) healPeers(ctx context.Context) error {
	if err := n.c.HealPeers(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second+10*n.c.Options().TickTime)
	defer cancel()
	return n.c.WaitServing(wctx)
}

func (n *nemesis) isolateHolder(ctx context.Context, f *Fault) error {
	k, srv, err := n.holder(ctx)
	if err != nil {
		return err
	}
	d := n.isolation()
	f.Target = fmt.Sprintf("server %d", srv)
	f.Client = k
	f.Detail = fmt.Sprintf(" (client %d's, holding the mutex; isolated for %v)", k, d)
	f.Start = proto.Now()
	if err := n.c.Isolate(srv); err != nil {
		return err
	}
	herr := n.hold(ctx, d)
	if err := n.healPeers(ctx); err != nil {
		return err
	}
	f.Heal = proto.Now()
	return herr
}

func (n *nemesis) isolateLeader(ctx context.Context, f *Fault) error {
	leader, err := n.leader(ctx)
	if err != nil {
		return err
	}
	var others []int
	for i := range n.c.Servers() {
		if i != leader {
			others = append(others, i)
		}
	}
	var minority []int
	for k, l := range n.links {
		if a := l.Attached(); len(a) > 0 && a[len(a)-1] == leader {
			minority = append(minority, k)
		}
	}
	d := n.isolation()
	f.Target = fmt.Sprintf("server %d", leader)
	f.Detail = fmt.Sprintf(" (leader, with clients %v; isolated for %v)", minority, d)
	f.Start = proto.Now()
	for _, k := range minority {
		n.links[k].Blackhole(others...)
	}
	if err := n.c.Isolate(leader); err != nil {
		return err
	}
	herr := n.hold(ctx, d)
	for _, k := range minority {
		n.links[k].Heal(others...)
	}
	if err := n.healPeers(ctx); err != nil {
		return err
	}
	f.Heal = proto.Now()
	return herr
}

// oneWayCut drops what one server sends to another: half the time between
// the leader and a follower, either way, else between any two.
func (n *nemesis) oneWayCut(ctx context.Context, f *Fault) error {
	from, to := -1, -1
	if n.rng.IntN(2) == 0 {
		leader, err := n.leader(ctx)
		if err != nil {
			return err
		}
		follower := (leader + 1 + n.rng.IntN(2)) % 3
		from, to = leader, follower
		if n.rng.IntN(2) == 0 {
			from, to = follower, leader
		}
	} else {
		p := n.rng.Perm(3)
		from, to = p[0], p[1]
	}
	d := n.between(n.syncWindow(), n.cfg.SessionTimeout+n.syncWindow()+time.Second)
	f.Target = fmt.Sprintf("server %d to %d", from, to)
	f.Detail = fmt.Sprintf(" (dropped for %v)", d)
	f.Start = proto.Now()
	if err := n.c.CutPeer(from, to); err != nil {
		return err
	}
	herr := n.hold(ctx, d)
	if err := n.healPeers(ctx); err != nil {
		return err
	}
	f.Heal = proto.Now()
	return herr
}
