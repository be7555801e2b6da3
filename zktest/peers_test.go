package zktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// parseConf reads the key=value lines of a conf answer; the membership
// lines come back as "server.N" keys.
func parseConf(out string) map[string]string {
	kv := make(map[string]string)
	for line := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// checkViews checks that every server's conf lists itself at its real
// ports and each peer at the proxy of the pair: no server adopted
// another's view, even after elections.
func checkViews(t *testing.T, c *Cluster) {
	t.Helper()
	for i, s := range c.procs {
		if !s.running() {
			continue
		}
		conf := parseConf(must[string](t)(c.FourLetter(i, "conf")))
		for j := range c.procs {
			want := c.peerEntries(i)[j] + ":participant"
			if got := conf["server."+strconv.Itoa(j+1)]; got != want {
				t.Errorf("server %d's view of server %d: %q, want %q", i, j, got, want)
			}
		}
		if j := slicesIndexFunc(len(c.procs), func(j int) bool { return j != i }); c.peerEntries(i)[j] == c.peerEntries(j)[j] {
			t.Fatalf("server %d lists server %d at its real ports: peers are not proxied", i, j)
		}
	}
}

func slicesIndexFunc(n int, f func(int) bool) int {
	for i := range n {
		if f(i) {
			return i
		}
	}
	return -1
}

// checkNoBypass fails t if a server's JVM holds a connection to a peer's
// real quorum or election port: every link between servers must pass a
// proxy, or a cut would miss it. ZooKeeper dials back the election address
// a lower sid announces, which election.go rewrites; this checks it did.
func checkNoBypass(t *testing.T, c *Cluster) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	real := make(map[int]int) // port -> server
	for j, s := range c.procs {
		real[s.quorumPort], real[s.electionPort] = j, j
	}
	tcp, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	remoteByInode := make(map[string]int)
	for line := range strings.Lines(string(tcp)) {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "01" { // established only
			continue
		}
		_, port, _ := strings.Cut(f[2], ":")
		p, err := strconv.ParseInt(port, 16, 32)
		if err == nil {
			remoteByInode[f[9]] = int(p)
		}
	}
	for i, s := range c.procs {
		s.mu.Lock()
		pid := 0
		if s.cmd != nil {
			pid = s.cmd.Process.Pid
		}
		s.mu.Unlock()
		if pid == 0 {
			continue
		}
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			target, err := os.Readlink(fd)
			inode, ok := strings.CutPrefix(target, "socket:[")
			if err != nil || !ok {
				continue
			}
			port, ok := remoteByInode[strings.TrimSuffix(inode, "]")]
			if j, peer := real[port]; ok && peer && j != i {
				t.Errorf("server %d is connected straight to server %d's port %d, bypassing the proxies", i, j, port)
			}
		}
	}
}

// mode is server i's srvr Mode, "" when it does not serve.
func mode(c *Cluster, i int) string {
	out, err := c.FourLetter(i, "srvr")
	if err != nil {
		return ""
	}
	return parseMode(out)
}

// mntr returns one value of server i's mntr answer.
func mntr(c *Cluster, i int, key string) string {
	out, _ := c.FourLetter(i, "mntr")
	for line := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && k == key {
			return v
		}
	}
	return ""
}

// connectOnly returns a client that can reach only the given servers.
func connectOnly(t *testing.T, c *Cluster, servers ...int) *zk.Conn {
	t.Helper()
	return connect(t, c.NewLinkTo(servers...).Servers())
}

func followers(t *testing.T, c *Cluster) (leader int, rest []int) {
	t.Helper()
	leader = must[int](t)(c.Leader())
	for i := range c.procs {
		if i != leader {
			rest = append(rest, i)
		}
	}
	return leader, rest
}

// syncWindow is how long a server cut off from its peers may keep serving.
func syncWindow(c *Cluster) time.Duration {
	return time.Duration(c.opts.SyncLimit) * c.opts.TickTime
}

// slack is added to ZooKeeper's own bounds in waits: JVMs on a loaded
// two-core machine run late.
const slack = 10 * time.Second

// isolateFollower is the fault at the heart of issue 11: a follower cut off
// from its peers keeps answering its clients, by itself, until it has not
// heard from the leader for SyncLimit ticks, then drops them. It returns how
// long the follower served after the cut.
func isolateFollower(t *testing.T, c *Cluster) time.Duration {
	_, rest := followers(t, c)
	f, other := rest[0], rest[1]
	alone := connectOnly(t, c, f)
	must[string](t)(alone.Create("/isolated", []byte("before"), 0, acl))
	others := connectOnly(t, c, other)

	if err := c.Isolate(f); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	// At first the follower answers by itself, from what it had.
	data, _, err := alone.Get("/isolated")
	if err != nil || string(data) != "before" {
		t.Fatalf("read on the isolated follower right after the cut: %q, %v", data, err)
	}
	answered := time.Since(cut)
	waitFor(t, syncWindow(c)+slack, func() bool { return mode(c, f) == "" })
	served := time.Since(cut)
	t.Logf("isolated follower answered %v after the cut and stopped serving after %v (syncLimit × tick = %v)",
		answered.Round(time.Millisecond), served.Round(time.Millisecond), syncWindow(c))

	// The rest keeps a quorum and takes writes.
	must[*zk.Stat](t)(others.Set("/isolated", []byte("during"), -1))
	if got := mode(c, f); got != "" {
		t.Fatalf("isolated follower serves again (%q) without its peers", got)
	}

	if err := c.HealPeers(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait(c.opts.TickTime))
	defer cancel()
	if err := c.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mode(c, f); got != "follower" {
		t.Fatalf("healed server %d: mode %q, want follower", f, got)
	}
	// Its client is back (in a new session if the old one expired) and
	// reads what was written while it was away.
	waitFor(t, startWait(c.opts.TickTime), func() bool {
		data, _, err := alone.Get("/isolated")
		return err == nil && string(data) == "during"
	})
	if c.docker == nil {
		checkViews(t, c)
		checkNoBypass(t, c)
	}
	return served
}

func TestIsolateFollower(t *testing.T) {
	c := Start(t, Options{Nodes: 3})
	checkViews(t, c)
	checkNoBypass(t, c)
	isolateFollower(t, c)
}

func TestIsolateLeader(t *testing.T) {
	c := Start(t, Options{Nodes: 3})
	old := must[int](t)(c.Leader())
	minority := connectOnly(t, c, old)
	must[string](t)(minority.Create("/old", nil, 0, acl))
	oldEpoch := parseEpoch(must[string](t)(c.FourLetter(old, "srvr")))

	if err := c.Isolate(old); err != nil {
		t.Fatal(err)
	}
	// The others elect one of them, and the old leader stops serving its
	// clients, which stay attached to it.
	var next int
	waitFor(t, syncWindow(c)+slack, func() bool {
		l, err := c.Leader()
		next = l
		return err == nil && l != old && mode(c, old) == ""
	})
	if e := parseEpoch(must[string](t)(c.FourLetter(next, "srvr"))); e <= oldEpoch {
		t.Fatalf("new leader %d at epoch %d, not past the old one's %d", next, e, oldEpoch)
	}
	majority := connectOnly(t, c, next)
	must[string](t)(majority.Create("/new", nil, 0, acl))
	if _, _, err := minority.Exists("/new"); err == nil {
		t.Fatal("the isolated old leader answered a read")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait(c.opts.TickTime))
	defer cancel()
	if err := c.WaitServing(ctx); err != nil {
		t.Fatalf("WaitServing with the old leader isolated: %v", err)
	}

	if err := c.HealPeers(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mode(c, old); got != "follower" {
		t.Fatalf("healed old leader: mode %q, want follower", got)
	}
	if l := must[int](t)(c.Leader()); l != next {
		t.Fatalf("leader after heal = %d, want %d", l, next)
	}
	waitFor(t, startWait(c.opts.TickTime), func() bool {
		_, _, err := minority.Exists("/new")
		return err == nil
	})
	checkViews(t, c)
	checkNoBypass(t, c)
}

// A one-way cut: the follower's bytes never reach the leader, whose
// handler for it hears no acks for SyncLimit ticks and drops it; the
// leader keeps its other follower and its quorum. The other way round, the
// follower stops hearing the leader's pings and drops out by itself.
func TestCutPeerOneWay(t *testing.T) {
	c := Start(t, Options{Nodes: 3})
	for _, dir := range []string{"follower to leader", "leader to follower"} {
		t.Run(strings.ReplaceAll(dir, " ", "-"), func(t *testing.T) {
			leader, rest := followers(t, c)
			f := rest[0]
			if got := mntr(c, leader, "zk_synced_followers"); got != "2" {
				t.Fatalf("leader's synced followers before the cut: %q, want 2", got)
			}
			var err error
			if dir == "follower to leader" {
				err = c.CutPeer(f, leader)
			} else {
				err = c.CutPeer(leader, f)
			}
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, syncWindow(c)+slack, func() bool {
				return mntr(c, leader, "zk_synced_followers") == "1" && mode(c, f) == ""
			})
			if l := must[int](t)(c.Leader()); l != leader {
				t.Fatalf("leader changed from %d to %d on a one-way cut of one follower", leader, l)
			}
			conn := connectOnly(t, c, leader)
			must[string](t)(conn.Create("/cut-"+strconv.Itoa(f)+"-"+dir[:1], nil, 0, acl))

			if err := c.HealPeers(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, startWait(c.opts.TickTime), func() bool {
				return mntr(c, leader, "zk_synced_followers") == "2" && mode(c, f) == "follower"
			})
			checkNoBypass(t, c)
		})
	}
}

// Bad indexes and providers without peer faults get errors; Kill and
// Restart work on an isolated server; NewLinkTo reaches only its servers.
func TestPeerFaultErrors(t *testing.T) {
	c := Start(t, Options{Nodes: 3})
	for _, err := range []error{c.Isolate(3), c.Isolate(-1), c.CutPeer(0, 3), c.CutPeer(1, 1)} {
		if err == nil {
			t.Error("bad server index accepted")
		}
	}
	ext := &Cluster{addrs: c.Servers()}
	for _, err := range []error{ext.Isolate(0), ext.CutPeer(0, 1), ext.HealPeers()} {
		if !errors.Is(err, errExternal) {
			t.Errorf("peer fault on an external ensemble: %v, want errExternal", err)
		}
	}
	dock := &Cluster{addrs: c.Servers(), procs: c.procs, docker: &dockerSet{}, peers: newDockerPeers(3)}
	if err := dock.CutPeer(0, 1); !errors.Is(err, errDockerOneWay) {
		t.Errorf("CutPeer with the Docker provider: %v, want errDockerOneWay", err)
	}

	// Kill and Restart still work on an isolated server: Restart waits
	// for ruok only, as it cannot serve; it serves again once healed.
	if err := c.Isolate(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(1); err != nil {
		t.Fatalf("Restart of an isolated server: %v", err)
	}
	if got := mode(c, 1); got != "" {
		t.Fatalf("restarted isolated server serves as %q", got)
	}
	if err := c.HealPeers(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait(c.opts.TickTime))
	defer cancel()
	if err := c.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mode(c, 1); got != "follower" && got != "leader" {
		t.Fatalf("restarted server after HealPeers: mode %q", got)
	}

	link := c.NewLinkTo(2, 0)
	if got := link.Servers(); len(got) != 2 {
		t.Fatalf("NewLinkTo(2, 0).Servers() = %v", got)
	}
	link.Cut(2) // by the cluster's index
	defer func() {
		if recover() == nil {
			t.Error("Cut of a server the link does not reach did not panic")
		}
	}()
	link.Cut(1)
}

// At ZooKeeper's shipped timings the window in which an isolated follower
// still answers is SyncLimit × TickTime = 10 s, as long as a whole session:
// the figure the session manager's safe deadline has to allow for.
func TestShippedTimings(t *testing.T) {
	opts := ShippedTimings
	opts.Nodes = 3
	start := time.Now()
	c := Start(t, opts)
	t.Logf("3 servers at a 2 s tick serving after %v", time.Since(start).Round(time.Millisecond))
	want := map[string]string{
		"tickTime": "2000", "syncLimit": "5", "initLimit": "10",
		"minSessionTimeout": "4000", "maxSessionTimeout": "40000",
	}
	for i := range c.procs {
		conf := parseConf(must[string](t)(c.FourLetter(i, "conf")))
		for k, v := range want {
			if conf[k] != v {
				t.Errorf("server %d: conf %s=%q, want %q", i, k, conf[k], v)
			}
		}
	}
	checkViews(t, c)
	served := isolateFollower(t, c)
	if served < syncWindow(c)/2 {
		t.Errorf("isolated follower stopped serving after %v, well before syncLimit × tick = %v", served, syncWindow(c))
	}
}

func TestLinkAttached(t *testing.T) {
	c := Shared(t)
	link := c.NewLinkTo(2, 1)
	if got := link.Attached(); len(got) != 0 {
		t.Fatalf("Attached() before any client = %v", got)
	}
	conn := connect(t, link.Servers())
	waitFor(t, 10*time.Second, func() bool {
		a := link.Attached()
		return len(a) == 1 && (a[0] == 2 || a[0] == 1)
	})
	conn.Close()
	waitFor(t, 10*time.Second, func() bool { return len(link.Attached()) == 0 })
	if got := c.Options(); got.TickTime != defaultTick || got.SyncLimit != 10 || got.MaxSessionTimeout != 100*defaultTick {
		t.Fatalf("Options() = %+v, want the defaults filled in", got)
	}
}
