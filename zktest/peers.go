package zktest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// peerNet is the network between the servers of a local ensemble. Each
// server's zoo.cfg lists its own entry with its real ports and every peer
// at a proxy dedicated to the pair: server a reaches b's quorum and
// election ports only through quorum[a][b] and election[a][b]. ZooKeeper
// accepts per-server configs that differ in peers' addresses while
// reconfigEnabled=false (servers exchange configs, but adopt another's only
// when its version is higher, and every static config has version 0), so
// each server keeps its own view and every byte between two servers passes
// a proxy a test controls.
//
// A quorum connection is dialed by a follower to its leader, an election
// connection by the higher sid to the lower; either way the proxy of the
// pair (dialer, target) carries both directions of it, so a one-way fault
// drops the upstream direction of one proxy and the downstream direction of
// the other.
type peerNet struct {
	quorum, election [][]*proxy // [from][to]; nil when from == to

	mu  sync.Mutex
	cut [][]bool // cut[from][to]: what from sends to to is dropped
	// detached[i]: server i's container is off the quorum network (Docker
	// provider, whose peerNet has no proxies; container_peers.go).
	detached []bool
}

func newPeerNet(procs []*server) (_ *peerNet, err error) {
	n := len(procs)
	pn := &peerNet{}
	defer func() {
		if err != nil {
			pn.close()
		}
	}()
	for from := range n {
		pn.quorum = append(pn.quorum, make([]*proxy, n))
		pn.election = append(pn.election, make([]*proxy, n))
		pn.cut = append(pn.cut, make([]bool, n))
		for to, s := range procs {
			if from == to {
				continue
			}
			if pn.quorum[from][to], err = newProxy("127.0.0.1:"+strconv.Itoa(s.quorumPort), func() {}); err != nil {
				return nil, fmt.Errorf("zktest: starting a proxy between servers: %w", err)
			}
			// A new leader opens its quorum port a moment after the
			// election: its followers, told so, dial at once and retry a
			// refusal, but a connection that closes sends them back to
			// electing, which the leader, still waiting for them, does not
			// hear of for InitLimit ticks.
			pn.quorum[from][to].setDialPatience(quorumDialPatience)
			if pn.election[from][to], err = newProxy("127.0.0.1:"+strconv.Itoa(s.electionPort), func() {}); err != nil {
				return nil, fmt.Errorf("zktest: starting a proxy between servers: %w", err)
			}
		}
	}
	for from := range n {
		for to := range n {
			if from != to {
				pn.election[from][to].setHandshake(advertise(pn.election[to][from].addr()))
			}
		}
	}
	return pn, nil
}

// quorumDialPatience is how long a quorum proxy waits for its leader to
// listen; a loaded machine's JVM gets there within a few hundred ms.
const quorumDialPatience = 5 * time.Second

// entry is the zoo.cfg address of server to as server from must see it.
func (pn *peerNet) entry(from, to int) string {
	return pn.quorum[from][to].addr() + ":" + portOf(pn.election[from][to].addr())
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return addr
}

// set marks the links from→to cut or not and applies the whole state.
func (pn *peerNet) set(f func(cut [][]bool)) {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	f(pn.cut)
	if pn.quorum == nil {
		return
	}
	for a := range pn.cut {
		for b := range pn.cut {
			if a == b {
				continue
			}
			var d direction
			if pn.cut[a][b] {
				d |= upstream
			}
			if pn.cut[b][a] {
				d |= downstream
			}
			pn.quorum[a][b].setHold(d)
			pn.election[a][b].setHold(d)
		}
	}
}

// faulted reports whether any link of server i is cut, either way.
func (pn *peerNet) faulted(i int) bool {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	for j := range pn.cut {
		if pn.cut[i][j] || pn.cut[j][i] {
			return true
		}
	}
	return false
}

// open reports whether nothing is cut between servers i and j.
func (pn *peerNet) open(i, j int) bool {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	return !pn.cut[i][j] && !pn.cut[j][i]
}

func (pn *peerNet) close() {
	for _, row := range append(pn.quorum, pn.election...) {
		for _, p := range row {
			if p != nil {
				p.close()
			}
		}
	}
}

// peerNet returns the ensemble's peer network after checking the indexes.
func (c *Cluster) peerNet(servers ...int) (*peerNet, error) {
	if c.External() {
		return nil, errExternal
	}
	for _, i := range servers {
		if _, err := c.server(i); err != nil {
			return nil, err
		}
	}
	return c.peers, nil // nil for a standalone server, which has no peers
}

// Isolate cuts server i off from every peer, both directions (quorum and
// election links); its client connections stay up. Established connections
// carry nothing, as in a real partition, so each side learns of it only by
// its own timeouts: a follower keeps answering its clients until it has not
// heard from the leader for SyncLimit ticks. New connections between them
// are refused. HealPeers ends it.
func (c *Cluster) Isolate(i int) error {
	pn, err := c.peerNet(i)
	if pn == nil {
		return err
	}
	if c.docker != nil {
		if err := c.detach(pn, i); err != nil {
			return err
		}
	}
	pn.set(func(cut [][]bool) {
		for j := range cut {
			if j != i {
				cut[i][j], cut[j][i] = true, true
			}
		}
	})
	return nil
}

// CutPeer drops traffic from server from to server to (one way) on every
// link between them: established connections carry nothing that way but
// still carry the other way, and new connections between the two are
// refused, as a handshake needs both ways. HealPeers ends it.
//
// Nothing is lost, though: what a cut holds back is delivered when it
// heals, as TCP retransmits through a partition shorter than its own
// timeouts, which run to minutes. Connections end only when a server's own
// timeouts end them, as they would on a real network.
func (c *Cluster) CutPeer(from, to int) error {
	pn, err := c.peerNet(from, to)
	if pn == nil {
		return err
	}
	if from == to {
		return fmt.Errorf("zktest: CutPeer(%d, %d): a server has no link to itself", from, to)
	}
	if c.docker != nil {
		return errDockerOneWay
	}
	pn.set(func(cut [][]bool) { cut[from][to] = true })
	return nil
}

// HealPeers restores every server-to-server link: what was held back is
// delivered, and new connections are let through.
func (c *Cluster) HealPeers() error {
	pn, err := c.peerNet()
	if pn == nil {
		return err
	}
	if c.docker != nil {
		if err := c.reattach(pn); err != nil {
			return err
		}
	}
	pn.set(func(cut [][]bool) {
		for _, row := range cut {
			clear(row)
		}
	})
	return nil
}

// detach takes server i's container off the quorum network, once.
func (c *Cluster) detach(pn *peerNet, i int) error {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	if pn.detached == nil {
		pn.detached = make([]bool, len(pn.cut))
	}
	if pn.detached[i] {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.docker.setQuorum(ctx, c.procs[i], false); err != nil {
		return err
	}
	pn.detached[i] = true
	return nil
}

// reattach puts every detached container back on the quorum network.
func (c *Cluster) reattach(pn *peerNet) error {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for i, off := range pn.detached {
		if off {
			if err := c.docker.setQuorum(ctx, c.procs[i], true); err != nil {
				return err
			}
			pn.detached[i] = false
		}
	}
	return nil
}

// peerFaulted reports whether any link between server i and a peer is cut.
func (c *Cluster) peerFaulted(i int) bool {
	return c.peers != nil && c.peers.faulted(i)
}

// reachesMajority reports whether server i runs and has both ways open to
// enough running servers, itself included, to form a quorum.
func (c *Cluster) reachesMajority(i int) bool {
	if !c.procs[i].running() {
		return false
	}
	n := 0
	for j, s := range c.procs {
		if s.running() && (j == i || c.peers == nil || c.peers.open(i, j)) {
			n++
		}
	}
	return n > len(c.procs)/2
}
