package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Digest credentials hold across a reconnect to another server (go-zookeeper
// re-sends them) and across a new session (the manager adds them before the
// epoch is usable).
func TestDigestAuthSurvivesReconnectAndNewSession(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	link := c.NewLink()
	defer link.Close()
	auth := func(cfg *session.Config) {
		cfg.Auth = []session.Auth{{Scheme: "digest", Secret: []byte("billing:s3cret")}}
	}
	owner := connect(t, link.Servers(), 2*time.Second, auth) // reconnects must beat the deadline even on a loaded machine
	stranger := connect(t, c.Servers(), 8*time.Second)
	node := "/session-auth"
	ep, _ := owner.Epoch(ctx)
	if _, err := ep.Create(ctx, node, []byte("v0"), zk.FlagPersistent, zk.DigestACL(zk.PermAll, "billing", "s3cret")); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ep, err := owner.Epoch(ctx)
		if err == nil {
			ep.Delete(context.Background(), node, -1)
		}
	}()
	sep, _ := stranger.Epoch(ctx)
	if _, _, err := sep.Get(ctx, node); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("a client without credentials read the node: %v", err)
	}
	write := func(ep *session.Epoch, v string) error {
		_, err := ep.Set(ctx, node, []byte(v), -1)
		return err
	}

	// Reconnect within the session: cut every connection, heal at once.
	changes := owner.Subscribe(ctx)
	link.Cut()
	for ch := range changes {
		if ch.State == session.Suspended {
			break
		}
	}
	link.Heal()
	for ch := range changes {
		if ch.State == session.Connected {
			if ch.Epoch != ep {
				t.Fatalf("reconnect started a new epoch")
			}
			break
		}
	}
	if err := write(ep, "v1"); err != nil {
		t.Fatalf("write after reconnect: %v", err)
	}

	// A new session: cut off past the timeout.
	link.Blackhole()
	<-ep.Done()
	link.Heal()
	next, err := owner.Epoch(ctx)
	if err != nil || next == ep {
		t.Fatalf("no new epoch: %v", err)
	}
	if err := write(next, "v2"); err != nil {
		t.Fatalf("write in a new session: %v", err)
	}
}
