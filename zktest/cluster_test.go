package zktest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

var acl = zk.WorldACL(zk.PermAll)

// connect returns a client of servers whose session is established.
func connect(t *testing.T, servers []string) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect(servers, 2*time.Second, zk.WithLogger(discardLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn
			}
		case <-timeout:
			t.Fatal("no session within 30s")
		}
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestEnsembleFaults(t *testing.T) {
	start := time.Now()
	c := Start(t, Options{Nodes: 3})
	t.Logf("3-node ensemble serving after %v", time.Since(start))
	c.RequireFaults(t)
	if got := c.Servers(); len(got) != 3 || !strings.HasPrefix(got[0], "127.0.0.1:") {
		t.Fatalf("Servers() = %v", got)
	}
	leader := must[int](t)(c.Leader())

	link := c.NewLink()
	conn := connect(t, link.Servers())
	must[string](t)(conn.Create("/w", nil, 0, acl))
	if _, _, _, err := conn.GetW("/w"); err != nil {
		t.Fatal(err)
	}
	w := must[map[int64][]string](t)(c.Watches())
	if !slices.Contains(w[conn.SessionID()], "/w") {
		t.Fatalf("Watches() = %v, want /w watched by session 0x%x", w, conn.SessionID())
	}

	if err := c.Kill(leader); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(leader); err != nil {
		t.Fatalf("killing a dead server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start = time.Now()
	if err := c.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	next := must[int](t)(c.Leader())
	t.Logf("server %d took over from %d after %v", next, leader, time.Since(start))
	if next == leader {
		t.Fatalf("Leader() = %d, the server just killed", next)
	}
	// The client, through its proxies, finds the survivors.
	if _, err := conn.Set("/w", []byte("x"), -1); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	t.Logf("server %d back after %v", leader, time.Since(start))
	if err := c.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if out := must[string](t)(c.FourLetter(leader, "srvr")); parseMode(out) != "follower" {
		t.Fatalf("restarted server %d: srvr = %q, want a follower", leader, out)
	}
	if _, err := c.FourLetter(3, "srvr"); err == nil {
		t.Fatal("FourLetter(3) on a 3-node ensemble succeeded")
	}
	must[any](t)(nil, conn.Delete("/w", -1))

	// Bring the whole ensemble back from nothing, one server at a time: the
	// first cannot serve alone, the second makes a quorum.
	for i := range 3 {
		must[any](t)(nil, c.Kill(i))
	}
	start = time.Now()
	for i := range 2 {
		if err := c.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("2 of 3 servers back from a full outage after %v", time.Since(start))
	if _, _, err := conn.Exists("/"); err != nil {
		t.Fatal(err)
	}
}

func TestLinkWithClient(t *testing.T) {
	c := Shared(t)
	link := c.NewLink()
	defer link.Close()
	conn, events, err := zk.Connect(link.Servers(), 2*time.Second, zk.WithLogger(discardLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitState := func(want zk.State) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.State == want {
					return
				}
			case <-timeout:
				t.Fatalf("client never reached %v", want)
			}
		}
	}
	waitState(zk.StateHasSession)
	sid := conn.SessionID()

	link.Cut()
	waitState(zk.StateDisconnected)
	dials := len(link.Dials())
	link.Heal()
	waitState(zk.StateHasSession)
	if conn.SessionID() != sid {
		t.Fatalf("session 0x%x replaced by 0x%x across a short cut", sid, conn.SessionID())
	}
	if len(link.Dials()) <= dials {
		t.Fatal("no dial recorded for the reconnection")
	}

	link.SetLatency(50 * time.Millisecond)
	start := time.Now()
	if _, _, err := conn.Exists("/"); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 100*time.Millisecond {
		t.Fatalf("request took %v through 50ms of latency each way", rtt)
	}
}

func TestCheckClean(t *testing.T) {
	c := Shared(t)
	defer func(d time.Duration) { checkCleanTimeout = d }(checkCleanTimeout)
	checkCleanTimeout = time.Second // the failing cases wait it out

	conn := connect(t, c.Servers())
	c.CheckClean(t, "/clean-missing") // a prefix that does not exist is clean
	must[string](t)(conn.Create("/clean", nil, 0, acl))
	c.CheckClean(t, "/clean", conn.SessionID())

	// An emptied container is the server's to delete: not a leftover.
	must[string](t)(conn.CreateContainer("/clean/box", nil, zk.FlagContainer, acl))
	must[string](t)(conn.Create("/clean/box/item", nil, 0, acl))
	must[any](t)(nil, conn.Delete("/clean/box/item", -1))
	c.CheckClean(t, "/clean", conn.SessionID())

	must[string](t)(conn.Create("/clean/left", nil, zk.FlagEphemeral, acl))
	if _, _, _, err := conn.GetW("/clean/left"); err != nil {
		t.Fatal(err)
	}
	r := run(t, func(tb testing.TB) { c.CheckClean(tb, "/clean", conn.SessionID()) })
	msgs := strings.Join(r.messages(), "\n")
	if !r.Failed() || !strings.Contains(msgs, "/clean/left (ephemeral") || !strings.Contains(msgs, "watch on /clean/left") {
		t.Fatalf("CheckClean with a node and a watch left: failed=%v, messages:\n%s", r.Failed(), msgs)
	}
	// Sessions not named are not checked for watches.
	r = run(t, func(tb testing.TB) { c.CheckClean(tb, "/clean") })
	if msgs := strings.Join(r.messages(), "\n"); strings.Contains(msgs, "watch") {
		t.Fatalf("CheckClean without sessions reported watches:\n%s", msgs)
	}

	// Closing the session removes both its ephemeral and its watch.
	conn.Close()
	c.CheckClean(t, "/clean")
	conn2 := connect(t, c.Servers())
	must[any](t)(nil, conn2.Delete("/clean", -1))
}

func TestStandalone(t *testing.T) {
	start := time.Now()
	c := Start(t, Options{Nodes: 1, TickTime: 50 * time.Millisecond})
	t.Logf("standalone serving after %v", time.Since(start))
	if i, err := c.Leader(); i != 0 || err != nil {
		t.Fatalf("Leader() = %d, %v; want 0", i, err)
	}
	if out := must[string](t)(c.FourLetter(0, "ruok")); out != "imok" {
		t.Fatalf("ruok = %q", out)
	}
	if out := must[string](t)(c.FourLetter(0, "conf")); !strings.Contains(out, "maxSessionTimeout=5000") {
		t.Fatalf("conf does not show 100 ticks of 50ms as maxSessionTimeout:\n%s", out)
	}
	must[any](t)(nil, c.Kill(0))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.WaitServing(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitServing with every server dead = %v, want an immediate error", err)
	}
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(1); err == nil {
		t.Fatal("Restart(1) of a standalone server succeeded")
	}
	c.Stop()
	c.Stop() // idempotent
	if err := c.Restart(0); err == nil {
		t.Fatal("Restart after Stop succeeded")
	}
}

func TestSharedAndExternal(t *testing.T) {
	c := Shared(t)
	if Shared(t) != c {
		t.Fatal("Shared returned two clusters")
	}
	t.Setenv("ZK_SERVERS", strings.Join(c.Servers(), ","))
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if !e.External() || c.External() {
		t.Fatalf("External() = %v for ZK_SERVERS, %v for local", e.External(), c.External())
	}
	if !slices.Equal(e.Servers(), c.Servers()) {
		t.Fatalf("external Servers() = %v, want %v", e.Servers(), c.Servers())
	}
	if err := e.Kill(0); err == nil {
		t.Fatal("Kill on an external ensemble succeeded")
	}
	if r := run(t, e.RequireFaults); !r.Skipped() {
		t.Fatal("RequireFaults did not skip on an external ensemble")
	}
	if r := run(t, c.RequireFaults); r.Skipped() || r.Failed() {
		t.Fatal("RequireFaults skipped on a local ensemble")
	}
	if _, err := e.Leader(); err != nil {
		t.Fatal(err)
	}
	// Links work on an external ensemble: they are in-process.
	conn := connect(t, e.NewLink().Servers())
	if _, _, err := conn.Exists("/"); err != nil {
		t.Fatal(err)
	}
	e.CheckClean(t, "/external-clean")
	e.Stop()
	if _, err := c.Leader(); err != nil {
		t.Fatalf("stopping the external wrapper hurt the ensemble: %v", err)
	}

	// A server left dead by an earlier test is back for the next one.
	must[any](t)(nil, c.Kill(0))
	Shared(t)
	if out, err := c.FourLetter(0, "srvr"); err != nil || parseMode(out) == "" {
		t.Fatalf("server 0 of the shared ensemble not revived: %q, %v", out, err)
	}
}

func TestNotFound(t *testing.T) {
	t.Setenv("ZK_SERVERS", "")
	t.Setenv("ZOOKEEPER_HOME", t.TempDir())
	if _, err := New(Options{}); !errors.Is(err, ErrNoZooKeeper) {
		t.Fatalf("New with an empty ZOOKEEPER_HOME = %v, want ErrNoZooKeeper", err)
	}
	r := run(t, func(tb testing.TB) { Start(tb, Options{}) })
	msgs := r.messages()
	if len(msgs) != 1 || strings.Contains(msgs[0], "\n") || !strings.Contains(msgs[0], "scripts/install-zookeeper") {
		t.Fatalf("Start without ZooKeeper said %q, want one line on how to get one", msgs)
	}
	if testing.Short() != r.Skipped() || testing.Short() == r.fatal {
		t.Fatalf("Start without ZooKeeper: skipped=%v fatal=%v under -short=%v", r.Skipped(), r.fatal, testing.Short())
	}
}
