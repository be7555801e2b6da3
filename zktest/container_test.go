package zktest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/session"
)

// The Docker provider runs a recipe like a local ensemble does: a session
// through a Link, a mutex taken and released, the leader's container killed
// and restarted, nothing left behind. Without Docker or the image it fails
// saying to run docker/build-image (skipped under -short). `make
// docker-test` builds the image first.
func TestDocker(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		c := Start(t, Options{Nodes: 1, Docker: true})
		out, err := c.FourLetter(0, "srvr")
		if err != nil || parseMode(out) != "standalone" {
			t.Fatalf("srvr: %q, %v; want Mode: standalone", out, err)
		}
		ctx := dockerTestContext(t)
		m := dockerTestSession(t, ctx, c.Servers())
		lockOnce(t, ctx, m, "/zktest-docker/standalone")
		names := []string{c.dockerContainerName(0)}
		c.Stop()
		assertNoContainers(t, names)
	})

	t.Run("ensemble", func(t *testing.T) {
		began := time.Now()
		c := Start(t, Options{Nodes: 3, Docker: true})
		t.Logf("3-node ensemble serving in %v", time.Since(began).Round(time.Millisecond))
		if c.External() {
			t.Fatal("a Docker cluster reports itself external")
		}
		for i, a := range c.Servers() {
			if !strings.HasPrefix(a, "127.0.0.1:") {
				t.Errorf("server %d at %s, want a loopback address", i, a)
			}
		}
		ctx := dockerTestContext(t)
		link := c.NewLink()
		m := dockerTestSession(t, ctx, link.Servers())
		ep, err := m.Epoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const dir = "/zktest-docker/ensemble"
		first := lockOnce(t, ctx, m, dir)

		leader, err := c.Leader()
		if err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		if err := c.Kill(leader); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FourLetter(leader, "ruok"); err == nil {
			t.Errorf("server %d still answers after Kill", leader)
		}
		// Two of three serve on: the same session takes the lock again,
		// with a higher token, once a new leader is elected.
		second := lockOnce(t, ctx, m, dir)
		t.Logf("killed leader %d; the lock was taken again %v later", leader, time.Since(killed).Round(time.Millisecond))
		if second <= first {
			t.Errorf("token %d after the failover, not above %d", second, first)
		}
		restarted := time.Now()
		if err := c.Restart(leader); err != nil {
			t.Fatal(err)
		}
		t.Logf("restarted server %d in %v", leader, time.Since(restarted).Round(time.Millisecond))
		if err := c.WaitServing(ctx); err != nil {
			t.Fatal(err)
		}
		if cur := m.Current(); cur == nil || cur.SessionID() != ep.SessionID() {
			t.Errorf("the session changed across the failover")
		}
		checked := time.Now()
		c.CheckClean(t, dir, ep.SessionID())
		t.Logf("clean in %v", time.Since(checked).Round(time.Millisecond))

		var names []string
		for i := range c.Servers() {
			names = append(names, c.dockerContainerName(i))
		}
		m.Close()
		c.Stop()
		assertNoContainers(t, names)
	})

	// Isolate takes a container off the quorum network while its client
	// port stays published: the follower answers its client by itself,
	// then drops it; HealPeers brings it back.
	t.Run("isolate", func(t *testing.T) {
		c := Start(t, Options{Nodes: 3, Docker: true})
		isolateFollower(t, c)
		if err := c.CutPeer(0, 1); !errors.Is(err, errDockerOneWay) {
			t.Errorf("CutPeer with the Docker provider: %v, want errDockerOneWay", err)
		}
	})
}

func dockerTestContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func dockerTestSession(t *testing.T, ctx context.Context, servers []string) *session.Manager {
	t.Helper()
	m, err := session.New(ctx, session.Config{
		Servers:        servers,
		SessionTimeout: 6 * time.Second,
		Identity:       t.Name(),
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// lockOnce takes and releases the mutex at dir, returning the token.
func lockOnce(t *testing.T, ctx context.Context, m *session.Manager, dir string) int64 {
	t.Helper()
	mu, err := mutex.New(m, dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := mu.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	token := l.Token()
	if token <= 0 {
		t.Errorf("token %d", token)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	return token
}

// assertNoContainers fails t if any of the named containers still exists.
func assertNoContainers(t *testing.T, names []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := openDocker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	for _, n := range names {
		if n == "" {
			t.Errorf("a server has no container name")
			continue
		}
		_, err := d.client().ContainerInspect(ctx, n, client.ContainerInspectOptions{})
		if err == nil {
			t.Errorf("container %s still exists after Stop", n)
		}
	}
}
