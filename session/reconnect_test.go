package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Reconnecting while many watches are set and requests are in flight, the
// moment go-zookeeper re-sends the watches: its own data race there (see
// replyHold in upstream.go) must not surface under -race, and the watches
// must survive.
func TestReconnectWithWatchesAndRequestsInFlight(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	link := c.NewLink()
	defer link.Close()
	// The users' 10 s session.
	m := connect(t, link.Servers(), 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const dir, nodes, rounds = "/session-reconnect-watches", 2000, 4
	if _, err := ep.Create(ctx, dir, nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatal(err)
	}
	// Many watches make the client's re-send of them slow, which widens
	// the window of its race.
	watches := make([]<-chan zk.Event, nodes)
	var set sync.WaitGroup
	for g := range 8 {
		set.Add(1)
		go func() {
			defer set.Done()
			for i := g; i < nodes; i += 8 {
				p := fmt.Sprintf("%s/n%d", dir, i)
				if _, err := ep.Create(ctx, p, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
					t.Error(err)
					return
				}
				_, _, w, err := ep.GetW(ctx, p)
				if err != nil {
					t.Error(err)
					return
				}
				watches[i] = w
			}
		}()
	}
	set.Wait()
	if t.Failed() {
		t.FailNow()
	}
	defer func() {
		for i := range nodes {
			ep.Delete(context.Background(), fmt.Sprintf("%s/n%d", dir, i), -1)
		}
		ep.Delete(context.Background(), dir, -1)
	}()

	// Readers keep requests in flight through every reconnect.
	busy, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for busy.Err() == nil {
				ep.Get(busy, dir)
			}
		}()
	}
	for round := range rounds {
		resumed := ep.Resumed()
		i := proxyOf(t, link, ep)
		link.Cut(i)
		select {
		case <-resumed:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: no reconnect after cutting server %d", round, i)
		}
		link.Heal(i)
	}
	stop()
	wg.Wait()
	if cur := m.Current(); ep.Err() != nil || cur != ep {
		t.Fatalf("the session did not survive the reconnects: %v (epoch %d, now %d)", ep.Err(), ep.ID(), cur.ID())
	}
	// The watches outlived the reconnects: each fires on its node's deletion.
	for i, w := range watches {
		if err := ep.Delete(ctx, fmt.Sprintf("%s/n%d", dir, i), -1); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-w:
			if ev.Type != zk.EventNodeDeleted {
				t.Fatalf("watch %d: %v", i, ev.Type)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("watch %d lost across reconnects", i)
		}
	}
}

// proxyOf is the index of the link's proxy the epoch is connected through.
func proxyOf(t *testing.T, link *zktest.Link, ep *session.Epoch) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if addr := ep.Server(); addr != "" {
			for i, s := range link.Servers() {
				if s == addr {
					return i
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("epoch not connected through the link (server %q)", ep.Server())
	return -1
}
