package session_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// blockingHandler blocks every record until release closes: a log sink
// that has stalled (a full pipe, a remote collector that hangs).
type blockingHandler struct {
	release chan struct{}
	mu      sync.Mutex
	logged  int
}

func (h *blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *blockingHandler) Handle(context.Context, slog.Record) error {
	<-h.release
	h.mu.Lock()
	h.logged++
	h.mu.Unlock()
	return nil
}
func (h *blockingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *blockingHandler) WithGroup(string) slog.Handler      { return h }

// The loss signal never waits for logging or subscribers: an epoch cut off
// from every server ends at its deadline while the logger is stuck.
func TestLossSignalIgnoresStalledLogger(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	link := c.NewLink()
	defer link.Close()
	h := &blockingHandler{release: make(chan struct{})}
	m := connect(t, link.Servers(), 2*time.Second, func(cfg *session.Config) { cfg.Logger = slog.New(h) })
	defer close(h.release) // before Close (deferred by connect's Cleanup): the log drains
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stalled := m.Subscribe(ctx) // a subscriber that never reads
	_ = stalled
	link.Blackhole()
	<-ep.Done()
	late := time.Since(ep.Deadline())
	if !errors.Is(ep.Err(), session.ErrSafeDeadline) {
		t.Fatalf("epoch ended with %v, want ErrSafeDeadline", ep.Err())
	}
	// The deadline timer rechecks every 250ms; a stalled log would add
	// seconds (every record blocks until the test ends).
	if late > time.Second {
		t.Fatalf("epoch ended %v after its deadline with a stalled logger", late)
	}
	t.Logf("ended %v after the deadline", late)
}

// Digest credentials, watches and a reconnect: the reply hold lets the
// credentials' answers through, so a reconnect takes a round trip, not the
// hold's bound, and a short session survives it.
func TestAuthWithWatchesSurvivesReconnects(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	link := c.NewLink()
	defer link.Close()
	m := connect(t, link.Servers(), 4*time.Second, func(cfg *session.Config) {
		cfg.Auth = []session.Auth{{Scheme: "digest", Secret: []byte("ops:pw")}}
	})
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := "/session-auth-watch"
	if _, err := ep.Create(ctx, node, nil, zk.FlagEphemeral, zk.DigestACL(zk.PermAll, "ops", "pw")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ep.GetW(ctx, node); err != nil { // the client now holds a watch
		t.Fatal(err)
	}
	changes := m.Subscribe(ctx)
	for round := range 3 {
		link.Cut()
		for ch := range changes {
			if ch.State == session.Suspended {
				break
			}
		}
		link.Heal()
		for ch := range changes {
			if ch.State == session.Connected {
				break
			}
			if ch.State == session.Expired {
				t.Fatalf("round %d: the epoch ended on reconnect: %v", round, ch.Err)
			}
		}
		if _, _, err := ep.Get(ctx, node); err != nil {
			t.Fatalf("round %d: read after reconnect: %v", round, err)
		}
	}
	if ep.Err() != nil {
		t.Fatalf("epoch ended: %v", ep.Err())
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Waiting for a session blocks: a hundred waiters through a five-second
// outage cost next to no CPU (spinning on an ended epoch took every core).
func TestEpochWaitersDoNotSpin(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	link := c.NewLink()
	defer link.Close()
	m := connect(t, link.Servers(), time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	link.Blackhole()
	<-ep.Done()
	before := cpuTime(t)
	outage, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, err := m.Epoch(outage); err == nil {
				t.Error("an epoch during the outage")
			}
		})
	}
	wg.Wait()
	used := cpuTime(t) - before
	link.Heal()
	if _, err := m.Epoch(ctx); err != nil {
		t.Fatalf("no session after the outage: %v", err)
	}
	// Spinning costs up to 5s on each core (0.7s measured on a machine
	// loaded by other work, whose spinners got a fraction of the cores);
	// blocking costs tens of milliseconds, mostly the manager's own
	// reconnect attempts under -race.
	if used > 400*time.Millisecond {
		t.Fatalf("100 waiters used %v of CPU in a 5s outage", used)
	}
	t.Logf("100 waiters, 5s outage: %v CPU", used)
}

// Close from an OnEnd hook returns instead of waiting for itself.
func TestCloseFromOnEndHook(t *testing.T) {
	c := zktest.Shared(t)
	m := connect(t, c.Servers(), 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	returned := make(chan struct{})
	ep.OnEnd(func(error) {
		m.Close()
		close(returned)
	})
	closed := make(chan struct{})
	go func() {
		m.Close()
		close(closed)
	}()
	for _, ch := range []chan struct{}{returned, closed} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("Close from an OnEnd hook deadlocked")
		}
	}
	if !errors.Is(ep.Err(), session.ErrClosed) {
		t.Fatalf("epoch ended with %v", ep.Err())
	}
}

// Failures to connect are matchable: bad credentials, no server.
func TestConnectErrorsAreMatchable(t *testing.T) {
	c := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // New retries until ctx ends
	defer cancel()
	_, err := session.New(ctx, session.Config{Servers: c.Servers(), SessionTimeout: 2 * time.Second,
		Auth: []session.Auth{{Scheme: "no-such-scheme", Secret: []byte("x")}}})
	if !errors.Is(err, session.ErrAuthFailed) {
		t.Fatalf("an unknown auth scheme: %v, want ErrAuthFailed", err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	_, err = session.New(short, session.Config{Servers: []string{"127.0.0.1:1"}, SessionTimeout: 2 * time.Second, TickTime: 100 * time.Millisecond})
	if !errors.Is(err, session.ErrHandshake) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no server: %v, want ErrHandshake and the context's error", err)
	}
}

// A session too short for a safe deadline at the ensemble's tickTime is
// refused, naming the shortest safe one: up front when TickTime is given,
// at the grant when it is learned from the servers.
func TestUnsafeTimeoutRefused(t *testing.T) {
	_, err := session.New(context.Background(), session.Config{Servers: []string{"127.0.0.1:2181"},
		SessionTimeout: 4 * time.Second, TickTime: 2 * time.Second})
	if !errors.Is(err, session.ErrInvalidConfig) || !strings.Contains(err.Error(), "at least 7.5s") {
		t.Fatalf("4s sessions at 2s ticks: %v", err)
	}
	_, err = session.New(context.Background(), session.Config{Servers: []string{"127.0.0.1:2181"},
		SessionTimeout: 10 * time.Second, SafetyMargin: time.Second, TickTime: 2 * time.Second})
	if !errors.Is(err, session.ErrInvalidConfig) || !strings.Contains(err.Error(), "SafetyMargin >= 2s") {
		t.Fatalf("a margin below the tick: %v", err)
	}
	if got := session.MinSafeTimeout(0, 2*time.Second); got != 7500*time.Millisecond {
		t.Fatalf("MinSafeTimeout(default, 2s) = %v", got)
	}

	c := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conf, err := session.ReadConf(ctx, c.Servers(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tick := conf.TickTime
	// The shortest the server grants (2 ticks) is below 3.75 ticks.
	_, err = session.New(ctx, session.Config{Servers: c.Servers(), SessionTimeout: 2 * tick})
	if !errors.Is(err, session.ErrInvalidConfig) {
		t.Fatalf("a %v session at the servers' %v ticks: %v", 2*tick, tick, err)
	}
}

// How late the loss signal runs after the deadline it enforces: the
// OnEnd hook's time against Deadline, over trials of a client cut off by
// silence. The deadline timer fires at the deadline itself (it sleeps in
// steps of a quarter second only while the deadline is further away).
func TestLossSignalLatency(t *testing.T) {
	c := zktest.Shared(t)
	c.RequireFaults(t)
	link := c.NewLink()
	defer link.Close()
	m := connect(t, link.Servers(), time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var lates []time.Duration
	for trial := range 5 {
		link.Heal()
		ep, err := m.Epoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		signalled := make(chan time.Time, 1)
		ep.OnEnd(func(error) { signalled <- time.Now() })
		link.Blackhole()
		at := <-signalled
		late := at.Sub(ep.Deadline())
		if !errors.Is(ep.Err(), session.ErrSafeDeadline) {
			t.Fatalf("trial %d: ended with %v", trial, ep.Err())
		}
		if late < 0 || late > 500*time.Millisecond {
			t.Fatalf("trial %d: signal %v after the deadline", trial, late)
		}
		lates = append(lates, late)
	}
	slices.Sort(lates)
	t.Logf("loss signal after the deadline: min %v, median %v, max %v", lates[0], lates[len(lates)/2], lates[len(lates)-1])
}

// A session's own backlog never makes it look out of touch: thousands of
// large reads at once through one short session, on a healthy ensemble.
func TestBacklogDoesNotEndTheEpoch(t *testing.T) {
	c := zktest.Shared(t)
	m := connect(t, c.Servers(), 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := "/session-backlog"
	big := make([]byte, 20<<10)
	if _, err := ep.Create(ctx, node, big, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2000 {
		wg.Go(func() {
			if _, _, err := ep.Get(ctx, node); err != nil {
				t.Errorf("read: %v", err)
			}
		})
	}
	wg.Wait()
	if err := ep.Err(); err != nil {
		t.Fatalf("40MB of replies ended the epoch: %v", err)
	}
}

// A Config without a timeout gets 10s from the server.
func TestNewDefaultsTo10sSessions(t *testing.T) {
	c := zktest.Shared(t)
	m := connect(t, c.Servers(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ep.Timeout(); got != session.DefaultSessionTimeout {
		t.Fatalf("granted %v, want the default %v", got, session.DefaultSessionTimeout)
	}
}
