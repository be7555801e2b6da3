package zktest

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Link is one client's network path to the ensemble: an in-process TCP proxy
// per server. Failing a Link affects only the clients connected through it,
// while the servers and other clients carry on, which is how a client
// experiences a partition. Its methods are safe for concurrent use.
type Link struct {
	proxies []*proxy
	ids     []int // the server index of each proxy; nil: the proxy's own

	mu     sync.Mutex
	dials  []time.Time
	closed bool
}

func newLink(targets []string) (*Link, error) {
	l := &Link{}
	for _, t := range targets {
		p, err := newProxy(t, l.dialed)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("zktest: starting a proxy for %s: %w", t, err)
		}
		l.proxies = append(l.proxies, p)
	}
	return l, nil
}

// dialed stamps the time under the lock, so the times are in accept order
// even across servers.
func (l *Link) dialed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dials = append(l.dials, time.Now())
}

// Servers returns the proxies' addresses, in the same order as
// Cluster.Servers (only those of its servers for a Link from NewLinkTo);
// give these to the client under test.
func (l *Link) Servers() []string {
	out := make([]string, len(l.proxies))
	for i, p := range l.proxies {
		out[i] = p.addr()
	}
	return out
}

// pick returns the proxies for the given server indexes, all when none.
func (l *Link) pick(servers []int) []*proxy {
	if len(servers) == 0 {
		return l.proxies
	}
	ps := make([]*proxy, len(servers))
	for i, s := range servers {
		k := s
		if l.ids != nil {
			k = slices.Index(l.ids, s)
		}
		if k < 0 || k >= len(l.proxies) {
			panic(fmt.Sprintf("zktest: Link has no server %d (it has %d)", s, len(l.proxies)))
		}
		ps[i] = l.proxies[k]
	}
	return ps
}

// Cut closes the connections to the given servers (all when none), both
// ways, and closes new ones as soon as they are accepted, like a refused
// connection, until Heal.
func (l *Link) Cut(servers ...int) {
	for _, p := range l.pick(servers) {
		p.setMode(cutOff)
	}
}

// Blackhole makes the given servers (all when none) unreachable without the
// client noticing: existing connections stay open but carry nothing either
// way, and new ones are accepted but never forwarded. Only timeouts tell the
// client, as in a real partition.
func (l *Link) Blackhole(servers ...int) {
	for _, p := range l.pick(servers) {
		p.setMode(blackholed)
	}
}

// Heal restores forwarding to the given servers (all when none).
// Connections that went silent in a blackhole are closed, as their TCP
// connections would have timed out in a real partition; the client
// reconnects.
func (l *Link) Heal(servers ...int) {
	for _, p := range l.pick(servers) {
		p.setMode(forwarding)
	}
}

// SetLatency delays every chunk forwarded to or from the given servers (all
// when none) by d, in each direction, keeping order; a round trip gains 2d.
// It applies to bytes read from now on.
func (l *Link) SetLatency(d time.Duration, servers ...int) {
	for _, p := range l.pick(servers) {
		p.latency.Store(int64(d))
	}
}

// Attached returns the servers (Cluster indexes) the client has a
// connection to through this Link right now, in server order: the one a
// ZooKeeper client is attached to, and for a moment after it moved, the
// one it left.
func (l *Link) Attached() []int {
	var out []int
	for k, p := range l.proxies {
		p.mu.Lock()
		n := len(p.conns)
		p.mu.Unlock()
		if n > 0 {
			i := k
			if l.ids != nil {
				i = l.ids[k]
			}
			out = append(out, i)
		}
	}
	return out
}

// Dials returns the time of every connection the client opened through this
// Link, across servers, in order: what a reconnect backoff test measures.
func (l *Link) Dials() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.dials...)
}

// Close closes the proxies and their connections and waits for their
// goroutines to end. It is idempotent.
func (l *Link) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	for _, p := range l.proxies {
		p.close()
	}
}

func (l *Link) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}
