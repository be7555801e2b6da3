package zktest

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

// Faults between servers with the Docker provider. The containers sit on
// two networks: the clients' one, where their client ports are published,
// and an internal one that carries quorum and election traffic, where
// each answers to zk<id>. An internal network never holds the default
// route, so the published ports stay on the clients' side, and Isolate
// disconnects a container from the quorum network alone: its clients stay
// attached while its peers' packets go nowhere. HealPeers connects it
// again under the same name. A one-way cut cannot be made with Docker's
// networks, so CutPeer is for local servers only.

// errDockerOneWay is CutPeer's answer with the Docker provider.
var errDockerOneWay = errors.New("zktest: CutPeer needs local servers: the Docker provider cuts both ways only (Isolate)")

// newQuorumNetwork creates the servers' internal network.
func (d *dockerSet) newQuorumNetwork(ctx context.Context, owner map[string]string) error {
	nw, err := tcnetwork.New(ctx, tcnetwork.WithLabels(owner), tcnetwork.WithInternal())
	if err != nil {
		return fmt.Errorf("zktest: Docker provider: creating the quorum network: %w", err)
	}
	d.mu.Lock()
	d.quorum = nw
	d.mu.Unlock()
	return nil
}

// newDockerPeers is the cut state of n containers, without proxies.
func newDockerPeers(n int) *peerNet {
	pn := &peerNet{}
	for range n {
		pn.cut = append(pn.cut, make([]bool, n))
	}
	return pn
}

// setQuorum connects server i's container to the quorum network, or
// disconnects it. Either works on a stopped container too.
func (d *dockerSet) setQuorum(ctx context.Context, s *server, connected bool) error {
	d.mu.Lock()
	nw, ds := d.quorum, s.ctr
	d.mu.Unlock()
	if nw == nil || ds == nil || ds.ctr == nil {
		return errors.New("zktest: Docker provider: the cluster is stopped")
	}
	id := ds.ctr.GetContainerID()
	var err error
	if connected {
		_, err = d.client().NetworkConnect(ctx, nw.ID, client.NetworkConnectOptions{
			Container:      id,
			EndpointConfig: &network.EndpointSettings{Aliases: []string{"zk" + strconv.Itoa(s.id)}},
		})
	} else {
		_, err = d.client().NetworkDisconnect(ctx, nw.ID, client.NetworkDisconnectOptions{Container: id, Force: true})
	}
	if err != nil {
		return fmt.Errorf("zktest: Docker provider: server %d's quorum network: %w", s.id-1, err)
	}
	return nil
}
