package session_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

func connect(t *testing.T, servers []string, timeout time.Duration, tweak ...func(*session.Config)) *session.Manager {
	t.Helper()
	cfg := session.Config{Servers: servers, SessionTimeout: timeout, Logger: testutil.Logger()}
	for _, f := range tweak {
		f(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, cfg)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// next returns the next change, failing the test after d.
func next(t *testing.T, ch <-chan session.Change, d time.Duration) session.Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return c
	case <-time.After(d):
		t.Fatalf("no state change within %v", d)
	}
	panic("unreachable")
}

// serving finds the server holding the session's connection.
func serving(t *testing.T, c *zktest.Cluster, sessionID int64) int {
	t.Helper()
	want := fmt.Sprintf("sid=0x%x", sessionID)
	for i := range c.Servers() {
		out, err := c.FourLetter(i, "cons")
		if err == nil && strings.Contains(out, want) {
			return i
		}
	}
	t.Fatalf("no server lists session 0x%x", sessionID)
	return -1
}

func TestConnectedServerKilledKeepsEpoch(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	m := connect(t, c.Servers(), 4*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A subscriber that never reads must not hold anything up.
	stalled, stop := context.WithCancel(context.Background())
	defer stop()
	m.Subscribe(stalled)
	changes := m.Subscribe(ctx)
	if c := next(t, changes, time.Second); c.State != session.Connected {
		t.Fatalf("initial state %v", c.State)
	}
	ep := m.Current()
	victim := serving(t, c, ep.SessionID())
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Restart(victim); err != nil {
			t.Fatal(err)
		}
	}()
	if ch := next(t, changes, 10*time.Second); ch.State != session.Suspended || ch.Epoch != ep {
		t.Fatalf("after kill: %v (epoch %v), want suspended in the same epoch", ch.State, ch.Epoch.ID())
	}
	if ch := next(t, changes, 10*time.Second); ch.State != session.Connected || ch.Epoch != ep {
		t.Fatalf("after failover: %v, want connected in the same epoch", ch.State)
	}
	if !ep.Alive() || ep.Err() != nil {
		t.Fatalf("epoch ended: %v", ep.Err())
	}
	if _, _, err := ep.Children(ctx, "/"); err != nil {
		t.Fatalf("request after failover: %v", err)
	}
	if got := serving(t, c, ep.SessionID()); got == victim {
		t.Fatalf("session still on the killed server %d", victim)
	}
}

// The property the whole library rests on: a client cut off from the
// ensemble learns that its session is unsafe before any other client can
// see its ephemeral nodes go.
func TestPartitionEndsEpochBeforeOthersSeeExpiry(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	const trials = 20
	link := c.NewLink()
	defer link.Close()
	a := connect(t, link.Servers(), time.Second)
	b := connect(t, c.Servers(), 4*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	epB, err := b.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := "/session-partition"
	if _, err := epB.Create(ctx, dir, nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatal(err)
	}
	defer epB.Delete(context.Background(), dir, -1)

	var leads []time.Duration
	for trial := 0; trial < trials; trial++ {
		epA, err := a.Epoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		node := fmt.Sprintf("%s/trial-%d", dir, trial)
		if _, err := epA.Create(ctx, node, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("trial %d: create: %v", trial, err)
		}
		// Reads are served by whichever server B is on: let it catch up first.
		if err := epB.Sync(ctx, node); err != nil {
			t.Fatalf("trial %d: sync: %v", trial, err)
		}
		_, _, watch, err := epB.GetW(ctx, node)
		if err != nil {
			t.Fatalf("trial %d: watch: %v", trial, err)
		}
		// Alternate a partition the client notices at once (connections
		// reset) with one it only notices by silence.
		if trial%2 == 0 {
			link.Cut()
		} else {
			link.Blackhole()
		}
		var ended, seen time.Time
		done := epA.Done()
		for done != nil || watch != nil {
			select {
			case <-done:
				ended, done = time.Now(), nil
			case ev := <-watch:
				if ev.Type != zk.EventNodeDeleted {
					t.Fatalf("trial %d: watch event %v", trial, ev.Type)
				}
				seen, watch = time.Now(), nil
			case <-ctx.Done():
				t.Fatalf("trial %d: epoch ended %v, deletion seen %v", trial, !ended.IsZero(), !seen.IsZero())
			}
		}
		if !ended.Before(seen) {
			t.Fatalf("trial %d: epoch ended %v AFTER another client saw the node go", trial, ended.Sub(seen))
		}
		leads = append(leads, seen.Sub(ended))
		link.Heal()
	}
	ep, err := a.Epoch(ctx)
	if err != nil {
		t.Fatalf("no new epoch after healing: %v", err)
	}
	if ep.ID() <= trials {
		t.Fatalf("epoch id %d after %d expiries", ep.ID(), trials)
	}
	t.Logf("partition: epoch ended before the node's deletion was seen elsewhere in %d/%d trials; lead min %v median %v",
		len(leads), trials, testutil.Min(leads), testutil.Median(leads))
}

func TestBackoffSpacesSessionAttempts(t *testing.T) {
	c := zktest.Start(t, zktest.Options{Nodes: 1})
	c.RequireFaults(t)
	link := c.NewLink()
	defer link.Close()
	intervals := []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond, 1200 * time.Millisecond}
	m := connect(t, link.Servers(), time.Second, func(cfg *session.Config) {
		cfg.Backoff = func() backoff.BackOff {
			b := backoff.NewExponentialBackOff()
			b.InitialInterval, b.Multiplier, b.MaxInterval = intervals[0], 2, intervals[2]
			b.RandomizationFactor, b.MaxElapsedTime = 0, 0
			return b
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := m.Subscribe(ctx)
	for ch := next(t, changes, time.Second); ch.State != session.Connected; ch = next(t, changes, time.Second) {
	}
	if err := c.Kill(0); err != nil {
		t.Fatal(err)
	}
	expired := next(t, changes, 10*time.Second)
	for expired.State != session.Expired {
		expired = next(t, changes, 10*time.Second)
	}
	var attempts []time.Time
	// One attempt more than measured: the last is announced before it dials.
	for len(attempts) < len(intervals)+2 {
		ch := next(t, changes, 5*time.Second)
		if ch.State == session.Connecting {
			attempts = append(attempts, ch.At)
		}
	}
	m.Close()
	var dials []time.Time // those of the attempts after the session ended
	for _, d := range link.Dials() {
		if !d.Before(expired.At) {
			dials = append(dials, d)
		}
	}
	if len(dials) < len(intervals)+1 {
		t.Fatalf("%d dials for %d attempts", len(dials), len(attempts))
	}
	for i, want := range intervals {
		gap := dials[i+1].Sub(dials[i])
		// Each attempt dials once and fails at once; the gap is the
		// backoff plus the time an attempt takes.
		if gap < want-20*time.Millisecond || gap > want+time.Second {
			t.Errorf("gap %d between dials %v, want %v", i, gap, want)
		}
	}
	after := len(link.Dials())
	if ch := next(t, changes, 5*time.Second); ch.State != session.Closed {
		for ch.State != session.Closed {
			ch = next(t, changes, 5*time.Second)
		}
	}
	if got := len(link.Dials()); got != after {
		t.Fatalf("%d dials after Close returned", got-after)
	}
}

func TestNewHonoursContext(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	link := c.NewLink()
	defer link.Close()
	link.Cut()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	m, err := session.New(ctx, session.Config{Servers: link.Servers(), SessionTimeout: time.Second, Logger: testutil.Logger()})
	if m != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New = %v, %v; want context.DeadlineExceeded", m, err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("New returned %v after its deadline", waited)
	}
}

func TestRequestsHonourContextWhileCutOff(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	link := c.NewLink()
	defer link.Close()
	m := connect(t, link.Servers(), 4*time.Second)
	ep := m.Current()
	link.Blackhole()
	defer link.Heal()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := ep.Get(ctx, "/")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get while cut off: %v", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Fatalf("Get returned after %v", waited)
	}
	if !ep.Alive() {
		t.Fatal("epoch ended within 200ms of a 4s session")
	}
}

func TestCloseEndsSessionAndIsFinal(t *testing.T) {
	c := zktest.Shared(t)
	a := connect(t, c.Servers(), 4*time.Second)
	b := connect(t, c.Servers(), 4*time.Second)
	ctx := context.Background()
	epA, _ := a.Epoch(ctx)
	epB, _ := b.Epoch(ctx)
	node := "/session-close"
	if _, err := epA.Create(ctx, node, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a.Close()
	if err := epB.Sync(ctx, node); err != nil && !errors.Is(err, zk.ErrNoNode) {
		t.Fatal(err)
	}
	if ok, _, err := epB.Exists(ctx, node); err != nil || ok {
		t.Fatalf("ephemeral node after Close: exists=%v err=%v", ok, err)
	}
	if _, err := a.Epoch(ctx); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Epoch after Close: %v", err)
	}
	if _, _, err := epA.Get(ctx, "/"); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("request after Close: %v", err)
	}
	if !errors.Is(epA.Err(), session.ErrClosed) {
		t.Fatalf("epoch cause %v", epA.Err())
	}
	if a.State() != session.Closed {
		t.Fatalf("state %v", a.State())
	}
}

func TestChrootSeparatesApplications(t *testing.T) {
	c := zktest.Shared(t)
	root := connect(t, c.Servers(), 4*time.Second)
	ctx := context.Background()
	ep, _ := root.Epoch(ctx)
	for _, p := range []string{"/app1", "/app2"} {
		if _, err := ep.Create(ctx, p, nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatal(err)
		}
		defer ep.Delete(ctx, p, -1)
	}
	app1 := connect(t, c.Servers(), 4*time.Second, func(cfg *session.Config) { cfg.Chroot = "/app1" })
	app2 := connect(t, c.Servers(), 4*time.Second, func(cfg *session.Config) { cfg.Chroot = "/app2" })
	e1, _ := app1.Epoch(ctx)
	e2, _ := app2.Epoch(ctx)
	p, err := e1.Create(ctx, "/lock", []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	if err != nil || p != "/lock" {
		t.Fatalf("create under chroot: %q %v", p, err)
	}
	if ok, _, _ := e2.Exists(ctx, "/lock"); ok {
		t.Fatal("app2 sees app1's node")
	}
	if ok, _, _ := ep.Exists(ctx, "/app1/lock"); !ok {
		t.Fatal("node not under the chroot")
	}
	kids, _, err := e1.Children(ctx, "/")
	if err != nil || len(kids) != 1 || kids[0] != "lock" {
		t.Fatalf("children of chroot: %v %v", kids, err)
	}
	if err := e1.Delete(ctx, "/lock", -1); err != nil {
		t.Fatal(err)
	}
}

// A server that accepts the connection and never answers the handshake
// (a hung process, a half-open proxy) must not hold New or Close for the
// client's own handshake timeout, ten receive timeouts: over a minute here.
func TestNewAndCloseDoNotWaitOnASilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // read nothing, answer nothing
		}
	}()
	defer func() {
		ln.Close()
		<-accepted
		for _, c := range held {
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	m, err := session.New(ctx, session.Config{Servers: []string{ln.Addr().String()}, SessionTimeout: 10 * time.Second, Logger: testutil.Logger()})
	if m != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New = %v, %v; want context.DeadlineExceeded", m, err)
	}
	// Close sends the server a close request and waits a second for it.
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("New returned %v after it was called, against a 500ms deadline", waited)
	}
}

// OnEnd's functions run in the call that ends the epoch, before Done
// closes, with its cause; once it has ended, at once.
func TestOnEndRunsBeforeDone(t *testing.T) {
	c := zktest.Shared(t)
	m := connect(t, c.Servers(), 4*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	sawDone := make(chan bool, 1)
	ep.OnEnd(func(err error) {
		select {
		case <-ep.Done():
			sawDone <- true
		default:
			sawDone <- false
		}
		ran <- err
	})
	stopped := ep.OnEnd(func(error) { t.Error("a stopped OnEnd ran") })
	if !stopped() || stopped() {
		t.Fatal("stop reports whether it stopped the function")
	}
	m.Close()
	if err := <-ran; !errors.Is(err, session.ErrClosed) {
		t.Fatalf("OnEnd cause %v, want ErrClosed", err)
	}
	if <-sawDone {
		t.Fatal("OnEnd ran after Done closed")
	}
	late := make(chan error, 1)
	if ep.OnEnd(func(err error) { late <- err })() {
		t.Fatal("stop after the end claims to have stopped it")
	}
	if err := <-late; !errors.Is(err, session.ErrClosed) {
		t.Fatalf("late OnEnd cause %v", err)
	}
}
