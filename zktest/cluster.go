package zktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/internal/ports"
)

// startTimeout bounds starting an ensemble or restarting one server. Three
// JVMs on two cores serve in a few seconds; the rest is headroom for a
// loaded CI machine.
const startTimeout = 30 * time.Second

// pollInterval is how often conditions are re-checked while waiting.
const pollInterval = 50 * time.Millisecond

// Options configure New.
type Options struct {
	// Nodes is the ensemble size: 1 runs a standalone server. Default 3.
	Nodes int
	// TickTime is the servers' tick. Default 100ms, so 1-2 s sessions are
	// possible. ShippedTimings has ZooKeeper's own.
	TickTime time.Duration
	// SyncLimit, in ticks, is how long a follower may go without hearing
	// from the leader (and the leader without its acks) before it drops
	// out and stops serving its clients. Default: 1s worth of ticks.
	SyncLimit int
	// InitLimit, in ticks, bounds a follower's connecting and syncing to a
	// new leader. Default: 10s worth of ticks.
	InitLimit int
	// MinSessionTimeout and MaxSessionTimeout bound the session timeouts
	// the servers grant. Defaults: 2 ticks (ZooKeeper's) and 100 ticks.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// Logf receives the servers' logs when New fails to start them. May be nil.
	Logf func(format string, args ...any)
	// TLS gives every server a secure client port as well, served by
	// ZooKeeper's Netty connection factory with PEM key and trust stores
	// that New generates (a throwaway CA, a server certificate for
	// 127.0.0.1 and localhost) in the cluster's directory. Clients must
	// present a certificate from that CA: use ClientTLS, with TLSServers or
	// NewTLSLink. The plain ports stay open, for zktest's own use and for
	// tests that compare. Local ensembles only: New fails under ZK_SERVERS.
	TLS bool
	// Docker runs the servers as containers of $ZOOKEEPER_IMAGE (default
	// DefaultDockerImage, which docker/build-image builds from Debian's
	// packages, no registry needed) with testcontainers-go, even when
	// ZK_SERVERS is set; see container.go. ZKTEST_PROVIDER=docker does the
	// same for every cluster that does not set it, unless ZK_SERVERS is set,
	// and New falls back to Docker when no local ZooKeeper is installed but
	// the image is there (ZKTEST_PROVIDER=local forbids it). Servers() are
	// published loopback ports; Kill and Restart kill and start containers.
	Docker bool
}

// Cluster is a running ensemble: local Java processes, or an external one
// named by ZK_SERVERS. Its methods are safe for concurrent use.
type Cluster struct {
	addrs []string
	procs []*server // nil for an external ensemble
	dir   string

	tls      *tlsSetup // nil unless Options.TLS
	tlsAddrs []string  // secure client addresses, in server order

	docker *dockerSet         // nil unless the servers run in Docker (container.go)
	ports  *ports.Reservation // the servers' ports, held until Stop
	peers  *peerNet           // links between local servers; nil for one server (peers.go)
	opts   Options            // as started, defaults filled in

	mu      sync.Mutex
	stopped bool
	links   []*Link
}

// errPortTaken marks a start that failed because a reserved port was bound
// by a process that does not reserve (internal/ports); starting over with
// new ports fixes it.
var errPortTaken = errors.New("zktest: port already in use")

// errExternal is returned by fault injection on an ensemble zktest does not run.
var errExternal = errors.New("zktest: external ensemble (ZK_SERVERS): servers cannot be killed or restarted")

// errExternalTLS is returned by New for Options.TLS on an external ensemble,
// whose certificates zktest does not know.
var errExternalTLS = errors.New("zktest: Options.TLS needs a local ensemble; ZK_SERVERS names an external one")

// New starts a standalone server (Nodes: 1) or an N-node ensemble of local
// Java processes and returns once a client can write to it, or, when
// ZK_SERVERS is set ("host:port,host:port"), wraps that external ensemble,
// which then cannot be killed or restarted. With Options.Docker, or
// ZKTEST_PROVIDER=docker, or when no local ZooKeeper is installed but
// Docker has the image, the servers run in containers instead (see
// Options.Docker). Stop releases everything.
func New(opts Options) (*Cluster, error) {
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Nodes < 0 || opts.Nodes > 254 {
		return nil, fmt.Errorf("zktest: Nodes must be in [1, 254], not %d", opts.Nodes)
	}
	opts, err := withTimings(opts)
	if err != nil {
		return nil, err
	}
	if docker, err := dockerFirst(opts); err != nil {
		return nil, err
	} else if docker {
		return startDocker(opts)
	}
	if s := strings.TrimSpace(os.Getenv("ZK_SERVERS")); s != "" {
		if opts.TLS {
			return nil, errExternalTLS
		}
		return newExternal(s, opts)
	}
	env, err := findRuntime()
	if err != nil {
		if errors.Is(err, ErrNoZooKeeper) {
			return dockerInstead(opts, err)
		}
		return nil, err
	}
	c, err := startLocal(env, opts)
	if errors.Is(err, errPortTaken) {
		c, err = startLocal(env, opts)
	}
	return c, err
}

func newExternal(list string, opts Options) (*Cluster, error) {
	c := &Cluster{opts: opts}
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.addrs = append(c.addrs, a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.WaitServing(ctx); err != nil {
		return nil, fmt.Errorf("zktest: ZK_SERVERS=%s: %w", list, err)
	}
	return c, nil
}

func startLocal(env *runtimeEnv, opts Options) (_ *Cluster, err error) {
	sweepStale()
	dir, err := os.MkdirTemp("", "zktest-")
	if err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	c := &Cluster{dir: dir, opts: opts}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if err := writeOwner(dir); err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	// A TLS cluster's secure ports come after the others, so the plain
	// layout is the same with or without.
	nports := 3 * opts.Nodes
	if opts.TLS {
		if c.tls, err = newTLSSetup(filepath.Join(dir, "tls")); err != nil {
			return nil, err
		}
		cp, err := tlsClasspath(env.classpath)
		if err != nil {
			return nil, err
		}
		env = &runtimeEnv{java: env.java, classpath: cp}
		nports += opts.Nodes
	}
	if c.ports, err = ports.Reserve(nports); err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	picked := c.ports.Ports
	for i := range opts.Nodes {
		s := &server{
			id:           i + 1,
			dir:          filepath.Join(dir, fmt.Sprintf("server%d", i+1)),
			clientPort:   picked[3*i],
			quorumPort:   picked[3*i+1],
			electionPort: picked[3*i+2],
			env:          env,
		}
		c.procs = append(c.procs, s)
		c.addrs = append(c.addrs, s.addr())
	}
	if len(c.procs) > 1 {
		if c.peers, err = newPeerNet(c.procs); err != nil {
			return nil, err
		}
	}
	for i, s := range c.procs {
		if err := s.writeConfig(c.procs, c.peerEntries(i), opts); err != nil {
			return nil, err
		}
	}
	if c.tls != nil {
		for i, s := range c.procs {
			secure := picked[3*opts.Nodes+i]
			if err := c.tls.appendZooCfg(s, secure); err != nil {
				return nil, err
			}
			c.tlsAddrs = append(c.tlsAddrs, fmt.Sprintf("127.0.0.1:%d", secure))
		}
	}
	// All JVMs start at once: they warm up in parallel, and an ensemble
	// cannot elect a leader until a quorum is up anyway.
	for _, s := range c.procs {
		if err := s.start(c.isStopped); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait(opts.TickTime))
	defer cancel()
	err = poll(ctx, func() error {
		for i, s := range c.procs {
			if !s.running() {
				return permanent(fmt.Errorf("server %d exited during startup", i))
			}
		}
		return c.servingNow()
	})
	if err == nil {
		// srvr can say "leader" a moment before the quorum takes writes;
		// a real write is the only proof.
		err = c.probe(ctx, true)
	}
	if err == nil && c.tls != nil {
		err = c.waitTLS(ctx)
	}
	if err != nil {
		taken := false
		for _, s := range c.procs {
			taken = taken || s.bindFailed()
		}
		if opts.Logf != nil {
			opts.Logf("zktest: ensemble failed to start: %v\n%s", err, c.logs())
		}
		if taken {
			return nil, fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, fmt.Errorf("zktest: starting a %d-node ensemble: %w", opts.Nodes, err)
	}
	return c, nil
}

// Servers returns every server's client address, "127.0.0.1:port" for a
// local ensemble, in server order. Clients connecting here bypass any Link.
func (c *Cluster) Servers() []string { return append([]string(nil), c.addrs...) }

// Options returns the options the cluster was started with, defaults
// filled in: its timings, in particular, for a test that scales its waits
// with them.
func (c *Cluster) Options() Options { return c.opts }

// External reports whether the ensemble came from ZK_SERVERS.
func (c *Cluster) External() bool { return c.procs == nil }

// RequireFaults skips the test when servers cannot be killed or restarted,
// i.e. on an external ensemble.
func (c *Cluster) RequireFaults(t testing.TB) {
	t.Helper()
	if c.External() {
		t.Skip("zktest: test needs fault injection, impossible on an external ensemble (ZK_SERVERS)")
	}
}

// NewLink returns a fresh set of proxies, one per server, for one client, so
// the test can fail that client's network without touching others. Stop
// closes it if the test does not.
func (c *Cluster) NewLink() *Link { return c.newLinkTo(c.addrs, nil) }

// NewLinkTo is NewLink restricted to the given servers (a client that can
// only reach them): its Servers lists their proxies alone, and its methods
// take the same server indexes as the Cluster's. It panics on an index out
// of range, or none.
func (c *Cluster) NewLinkTo(servers ...int) *Link {
	if len(servers) == 0 {
		panic("zktest: NewLinkTo needs at least one server")
	}
	targets := make([]string, len(servers))
	for k, i := range servers {
		if i < 0 || i >= len(c.addrs) {
			panic(fmt.Sprintf("zktest: NewLinkTo: no server %d in a %d-server ensemble", i, len(c.addrs)))
		}
		targets[k] = c.addrs[i]
	}
	return c.newLinkTo(targets, servers)
}

// newLinkTo links to targets, which are the servers ids, all in order when
// ids is nil.
func (c *Cluster) newLinkTo(targets []string, ids []int) *Link {
	l, err := newLink(targets)
	if err == nil && ids != nil {
		l.ids = append([]int(nil), ids...)
	}
	if err != nil {
		// Only fd exhaustion makes a loopback listen fail; a test cannot
		// go on without its link either way.
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		l.Close()
		return l
	}
	live := c.links[:0]
	for _, o := range c.links {
		if !o.isClosed() {
			live = append(live, o)
		}
	}
	c.links = append(live, l)
	return l
}

func (c *Cluster) server(i int) (*server, error) {
	if c.External() {
		return nil, errExternal
	}
	if i < 0 || i >= len(c.procs) {
		return nil, fmt.Errorf("zktest: no server %d in a %d-server ensemble", i, len(c.procs))
	}
	return c.procs[i], nil
}

// Kill kills server i (0-based) with SIGKILL and returns once it is gone.
// Killing a server that is not running does nothing.
func (c *Cluster) Kill(i int) error {
	s, err := c.server(i)
	if err != nil {
		return err
	}
	s.kill()
	return nil
}

// Restart starts server i again with its data and ports, killing it first
// if it runs, and returns once it serves: srvr shows a Mode. When too few
// servers run for a quorum (say, all were killed and are being brought back
// one by one), or a link to a peer is cut (Isolate, CutPeer), serving may
// be impossible, so it returns once the server answers ruok instead.
func (c *Cluster) Restart(i int) error {
	s, err := c.server(i)
	if err != nil {
		return err
	}
	s.kill()
	if err := s.start(c.isStopped); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait(c.opts.TickTime))
	defer cancel()
	err = poll(ctx, func() error {
		if !s.running() {
			return permanent(fmt.Errorf("server %d exited", i))
		}
		if !c.quorumRunning() || c.peerFaulted(i) {
			out, err := fourLetter(s.addr(), "ruok")
			if err != nil {
				return err
			}
			if out != "imok" {
				return fmt.Errorf("server %d answered ruok with %q", i, out)
			}
			return nil
		}
		out, err := fourLetter(s.addr(), "srvr")
		if err != nil {
			return err
		}
		if parseMode(out) == "" {
			return fmt.Errorf("server %d is not serving", i)
		}
		return nil
	})
	if err == nil && c.tls != nil {
		err = poll(ctx, func() error { return tlsRuok(c.tlsAddrs[i], c.tls.client) })
	}
	if err != nil {
		return fmt.Errorf("zktest: restarting server %d: %w", i, err)
	}
	return nil
}

// reviveAll restarts every server that is not running and waits until the
// ensemble serves.
func (c *Cluster) reviveAll() error {
	for i, s := range c.procs {
		if !s.running() {
			if err := c.Restart(i); err != nil {
				return err
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait(c.opts.TickTime))
	defer cancel()
	return c.WaitServing(ctx)
}

// peerEntries returns the server addresses server i's zoo.cfg lists: its
// own real ports, and its proxies to the others.
func (c *Cluster) peerEntries(i int) []string {
	out := make([]string, len(c.procs))
	for j, o := range c.procs {
		if j == i || c.peers == nil {
			out[j] = fmt.Sprintf("127.0.0.1:%d:%d", o.quorumPort, o.electionPort)
		} else {
			out[j] = c.peers.entry(i, j)
		}
	}
	return out
}

// quorumRunning reports whether a majority of the servers' processes run.
func (c *Cluster) quorumRunning() bool {
	n := 0
	for _, s := range c.procs {
		if s.running() {
			n++
		}
	}
	return n > len(c.procs)/2
}

// Stop kills every server, closes every Link and removes the servers'
// directories. It is idempotent.
func (c *Cluster) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	links := c.links
	c.links = nil
	c.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
	for _, s := range c.procs {
		s.kill()
	}
	if c.peers != nil {
		c.peers.close()
	}
	if c.docker != nil {
		c.docker.close()
	}
	c.ports.Release()
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

func (c *Cluster) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// live reports whether server i is believed up: always for an external
// ensemble, whose members zktest cannot see.
func (c *Cluster) live(i int) bool {
	return c.External() || c.procs[i].running()
}

// Leader returns the index of the server whose srvr says "Mode: leader"; a
// standalone server counts as the leader. When several say so, a leader cut
// off from its peers not having stepped down yet, it is the one of the
// latest epoch (the high half of the zxid srvr shows): the others have
// been superseded.
func (c *Cluster) Leader() (int, error) {
	var errs []error
	best, bestEpoch := -1, int64(-1)
	for i, addr := range c.addrs {
		if !c.live(i) {
			continue
		}
		out, err := fourLetter(addr, "srvr")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m := parseMode(out); m == "leader" || m == "standalone" {
			if e := parseEpoch(out); best < 0 || e > bestEpoch {
				best, bestEpoch = i, e
			}
		}
	}
	if best >= 0 {
		return best, nil
	}
	if err := errors.Join(errs...); err != nil {
		return -1, fmt.Errorf("zktest: no server is leader: %w", err)
	}
	return -1, errors.New("zktest: no server is leader")
}

// WaitServing waits until every running server answers srvr with a Mode and
// one of them leads, leaving out servers with a link to a peer cut
// (Isolate, CutPeer), which may be unable to serve until HealPeers. On an external ensemble, whose four-letter words may
// be disabled, it waits until a client can read instead.
func (c *Cluster) WaitServing(ctx context.Context) error {
	if c.External() {
		return c.probe(ctx, false)
	}
	return poll(ctx, c.servingNow)
}

func (c *Cluster) servingNow() error {
	live, leader := 0, false
	for i, s := range c.procs {
		if !s.running() {
			continue
		}
		live++
		if c.peerFaulted(i) {
			// Yet it may lead, say, with one follower cut one way, as long
			// as it still reaches a majority; an isolated leader that has
			// not stepped down yet does not count.
			if !leader && c.reachesMajority(i) {
				out, err := fourLetter(s.addr(), "srvr")
				leader = err == nil && parseMode(out) == "leader"
			}
			continue
		}
		out, err := fourLetter(s.addr(), "srvr")
		if err != nil {
			return err
		}
		switch parseMode(out) {
		case "":
			return fmt.Errorf("server %d is not serving", i)
		case "leader", "standalone":
			leader = true
		}
	}
	if live == 0 {
		return permanent(errors.New("no server is running"))
	}
	if !leader {
		return errors.New("no leader")
	}
	return nil
}

// logs returns the tail of every server's output, for failure reports.
func (c *Cluster) logs() string {
	var b strings.Builder
	for _, s := range c.procs {
		b.WriteString(s.logTail(32 << 10))
	}
	return b.String()
}

func (c *Cluster) writeLogs(logf func(string, ...any)) {
	if l := c.logs(); l != "" {
		logf("zktest: server logs:\n%s", l)
	}
}
