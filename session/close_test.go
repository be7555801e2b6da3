package session_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/zktest"
)

// A request still unanswered a second into Close, whose reply then comes
// while the client closes: go-zookeeper would hand CreateContainer
// ErrConnectionClosed and let it read its response while the receive loop
// decodes the late reply into it, a data race that -race reports. The
// epoch ends the connection first instead, so the reply is never decoded.
// The timings put the reply inside that window: the request reaches the
// server 1.5 s after it is sent, the test closes as soon as the node is
// there, and the reply comes 1.5 s later, after the settling second and
// before Close's own second for the server's goodbye is up.
func TestCloseWithALateReplyInFlight(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	link := c.NewLink()
	defer link.Close()
	m := connect(t, link.Servers(), 10*time.Second)
	observer := connect(t, c.Servers(), 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := observer.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const path = "/session-close-late-reply"
	defer obs.Delete(context.Background(), path, -1)

	link.SetLatency(1500*time.Millisecond, proxyOf(t, link, ep))
	created := make(chan error, 1)
	go func() {
		_, err := ep.CreateContainer(ctx, path, nil, zk.WorldACL(zk.PermAll))
		created <- err
	}()
	for there := false; !there; {
		names, _, changed, err := obs.ChildrenW(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		there = slices.Contains(names, path[1:])
		if !there {
			select {
			case <-changed:
			case <-ctx.Done():
				t.Fatal("the create never reached the server")
			}
		}
	}
	m.Close()
	if err := <-created; err == nil {
		t.Fatal("the create's reply arrived before Close: the test did not open the window it means to")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}
