// Command zkbench measures zkcoord's recipes side by side with
// go-zookeeper's zk.Lock, Apache Curator (Java) and kazoo (Python), and
// with the raw cost of ZooKeeper writes, against one 3-node ensemble:
// uncontended and contended locking, handoff latency against the queue's
// length, zkcoord's read lock under concurrent readers, semaphores and
// election failover; and, zkcoord alone, scale in one process: thousands of
// waiters on one lock, and thousands of locks held, through one session
// (-scale N, -only scale). It writes the figures, with the project's targets
// judged from this run alone, to a Markdown file, and a chart of handoff
// latency (handoff.svg) next to it.
//
//	go run ./bench/cmd/zkbench -out bench/RESULTS.md
//
// It starts its own ensemble with zktest (Debian's zookeeper package, or
// ZOOKEEPER_HOME), or uses ZK_SERVERS=host:port,... if set. Curator and
// kazoo run in driver processes of their own (peers/), which need a JDK
// with Curator's jars and a Python with kazoo: scripts/install-peers.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

// config sizes one run.
type config struct {
	rounds, block int // uncontended: rounds of one block per operation
	readers       int // uncontended: concurrent readers of one rwlock (section 5)
	sessions      int // sessions per system for contended and handoff
	perClient     int // contended: acquisitions per session, per run
	reps          int // contended: runs per system
	semPermits    int // semaphore: permits
	semWorkers    int // semaphore: workers, a session each
	semPerWorker  int // semaphore: acquisitions per worker, per run
	// semaphore saturation check: each permit held semHold, semHoldPerWorker
	// acquisitions per worker
	semHold          time.Duration
	semHoldPerWorker int
	waiters          []int
	passes           int           // handoff and failover: sweeps over waiters, alternately reversed
	handoffs         int           // handoff: recorded per queue length and pass
	warmHandoffs     int           // handoff: not recorded, at the start of each
	settle           time.Duration // handoff and failover: quiet time before each release
	candidates       int           // failover: candidates of one election, a session each
	failovers        int           // failover: recorded per pass
	warmFailovers    int           // failover: not recorded, at the start of each
	warmJVM          time.Duration // Curator: rounds of warm-up before anything is measured
	warmPython       time.Duration // kazoo: the same
	warmChain        int           // peers: handoffs and failovers before anything is measured
	wireChains       int           // peers: handoffs and failovers traced alone, one waiter
	// Section 8, scale in one process, every contender on one session:
	scaleWaiters      []int         // queue lengths swept: waiters on one lock, a goroutine each
	scaleHandoffAt    []int         // queue lengths at which the handoff at the head is timed
	scaleHandoffs     int           // handoffs recorded per length
	scaleWarmHandoffs int           // not recorded, at the start of each
	scaleLocks        int           // distinct locks held at once
	scaleLimit        time.Duration // bound on each phase: queueing, a handoff window, cleanup
	scaleBudget       time.Duration // bound on the whole of section 8 (but a cleanup under way)
}

var (
	fullConfig = config{rounds: 20, block: 25, readers: 8, sessions: 8, perClient: 40, reps: 9,
		semPermits: 4, semWorkers: 16, semPerWorker: 15, semHold: 100 * time.Millisecond, semHoldPerWorker: 3,
		waiters: []int{10, 100, 1000}, passes: 2, handoffs: 50, warmHandoffs: 5, settle: 20 * time.Millisecond,
		candidates: 8, failovers: 50, warmFailovers: 5, warmJVM: 15 * time.Second, warmPython: 2 * time.Second, warmChain: 40, wireChains: 20,
		scaleWaiters: []int{1000, 2000, 5000, 10000}, scaleHandoffAt: []int{10, 1000, 10000}, scaleHandoffs: 200, scaleWarmHandoffs: 20,
		scaleLocks: 10000, scaleLimit: time.Minute, scaleBudget: 270 * time.Second}
	// quickConfig exercises every scenario and the whole report in
	// seconds; its figures mean nothing.
	quickConfig = config{rounds: 2, block: 10, readers: 8, sessions: 8, perClient: 5, reps: 1,
		semPermits: 4, semWorkers: 16, semPerWorker: 2, semHold: 50 * time.Millisecond, semHoldPerWorker: 1,
		waiters: []int{5, 10, 20}, passes: 2, handoffs: 3, warmHandoffs: 1, settle: 5 * time.Millisecond,
		candidates: 8, failovers: 3, warmFailovers: 1, warmJVM: 0, warmPython: 0, warmChain: 2, wireChains: 3,
		scaleWaiters: []int{50, 100, 200}, scaleHandoffAt: []int{10, 200}, scaleHandoffs: 3, scaleWarmHandoffs: 1,
		scaleLocks: 200, scaleLimit: 30 * time.Second, scaleBudget: 2 * time.Minute}
)

// zktest's tick (named here to be reported) allows sessions of up to 100
// ticks. A long session keeps a thousand waiters on two cores from
// expiring under sheer load, which would measure recovery, not locking.
const (
	tickTime       = 100 * time.Millisecond
	sessionTimeout = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "zkbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("zkbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bench/RESULTS.md", "Markdown file to write")
	quick := fs.Bool("quick", false, "a short smoke run: every section, meaningless figures")
	scaleN := fs.Int("scale", -1, "largest N of section 8 (scale in one process): waiters on one lock and distinct locks held, all through one session; 0 skips it (default 10000, with -quick 200)")
	scaleLimit := fs.Duration("scale-limit", 0, "section 8: bound on each phase (queueing, a handoff window, a cleanup); default 1m, with -quick 30s")
	scaleBudget := fs.Duration("scale-budget", 0, "section 8: bound on the whole section, after which what is left is skipped (a cleanup under way still runs); default 4m30s, with -quick 2m")
	only := fs.String("only", "", `run one scenario alone and write its section alone: "scale"`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *only != "" && *only != scenarioScale {
		return fmt.Errorf("-only %q: the only scenario that runs alone is %q", *only, scenarioScale)
	}
	cfg := fullConfig
	if *quick {
		cfg = quickConfig
	}
	if *scaleN >= 0 {
		cfg = cfg.withScale(*scaleN)
	}
	if *scaleLimit > 0 {
		cfg.scaleLimit = *scaleLimit
	}
	if *scaleBudget > 0 {
		cfg.scaleBudget = *scaleBudget
	}
	if *only == scenarioScale && cfg.scaleLocks == 0 {
		return fmt.Errorf("-only %s with -scale 0: nothing to run", scenarioScale)
	}
	started := time.Now()
	progress := func(format string, a ...any) {
		fmt.Fprintf(stderr, "zkbench %6.1fs  %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, a...))
	}

	progress("starting a 3-node ensemble")
	cluster, err := zktest.New(zktest.Options{Nodes: 3, TickTime: tickTime})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	e := &env{
		servers:  cluster.Servers(),
		root:     "/zkbench-" + strings.ToLower(rand.Text()[:10]),
		timeout:  sessionTimeout,
		log:      slog.New(slog.DiscardHandler),
		trace:    &tracer{},
		progress: progress,
	}
	rep := report{
		command:  commandLine(args),
		started:  started,
		quick:    *quick,
		cfg:      cfg,
		machine:  describe(cluster),
		external: cluster.External(),
		servers:  len(e.servers),
		only:     *only,
	}

	admin, err := e.conn(ctx, e.servers[0])
	if err != nil {
		return err
	}
	defer admin.Close()
	e.admin = admin
	defer func() {
		if err := deleteTree(admin, e.root); err != nil {
			progress("cleaning up %s: %v", e.root, err)
		}
	}()

	server, role := pickFollower(cluster)
	if *only == scenarioScale {
		if rep.scale, err = scaleSection(ctx, e, cfg, server, role); err != nil {
			return err
		}
		return writeReport(*out, &rep, progress)
	}
	progress("starting the peers: compiling the Curator driver, starting a JVM and CPython")
	ps, err := startPeers(ctx)
	if err != nil {
		return err
	}
	// Before the cleanup above: their sessions' nodes go with them.
	defer ps.close()
	rep.curator, rep.kazoo = ps.curator.version, ps.kazoo.version
	if err := openPeerGroups(ctx, e, cfg, ps, server); err != nil {
		return err
	}
	if rep.warm, err = warmPeers(ctx, e, cfg, ps); err != nil {
		return err
	}

	progress("uncontended, every client on %s (%s)", server, role)
	if rep.uncontended, err = runUncontended(ctx, e, cfg, ps, server, role); err != nil {
		return err
	}

	progress("opening %d sessions per system", cfg.sessions)
	p, err := e.openPool(ctx, cfg.sessions)
	if err != nil {
		return err
	}
	// Closing the connections also frees any zk.Lock still waiting after
	// a failure, since zk.Lock takes no context.
	defer p.close()
	progress("opening %d sessions for the semaphore", cfg.semWorkers)
	sem, err := e.openManagers(ctx, cfg.semWorkers, "zkbench/semaphore")
	if err != nil {
		return err
	}
	defer closeManagers(sem)
	zsem := semaphoreSystem(sem, cfg.semPermits)
	wire := map[string]func(context.Context, string) (shapes, error){
		keySem: func(ctx context.Context, dir string) (shapes, error) { return semWire(ctx, e, zsem, dir, cfg.block) },
	}
	for _, pp := range []struct {
		key string
		p   *peer
	}{{keyCuratorSem, ps.curator}, {keyKazooSem, ps.kazoo}} {
		wire[pp.key] = func(ctx context.Context, dir string) (shapes, error) {
			ss, err := peerTraced(ctx, e, pp.p, "sem", dir, cfg.block, cfg.semPermits)
			return summarizeShapes(ss), err
		}
	}
	if rep.contended, err = runContended(ctx, e, cfg, mutexSystems(p, ps, cfg, "mutex"), semSystems(zsem, ps, cfg), wire); err != nil {
		return err
	}
	// Idle from here on: keep them out of the handoffs.
	closeManagers(sem)
	for _, pr := range ps.all() {
		if err := pr.closeGroup(ctx, groupSem); err != nil {
			return err
		}
	}
	if rep.handoff, err = runHandoff(ctx, e, cfg, mutexSystems(p, ps, cfg, "handoff")); err != nil {
		return err
	}
	if rep.handoff.peerWire, err = peerChainWire(ctx, e, ps, "handoff", cfg.wireChains, cfg.settle); err != nil {
		return err
	}
	progress("election failover, %d candidates per system", cfg.candidates)
	fsp := chainSpec{skip: cfg.warmFailovers, want: cfg.failovers, settle: cfg.settle}
	if rep.failover, err = runChains(ctx, e, "failover", electionSystems(p, ps, cfg), []int{cfg.candidates - 1}, cfg.passes, fsp); err != nil {
		return err
	}
	if rep.failover.peerWire, err = peerChainWire(ctx, e, ps, "failover", cfg.wireChains, cfg.settle); err != nil {
		return err
	}
	if rep.scale, err = scaleSection(ctx, e, cfg, server, role); err != nil {
		return err
	}
	chart := filepath.Join(filepath.Dir(*out), chartName)
	if err := writeChart(chart, rep.handoff, cfg.waiters); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	progress("wrote %s", chart)
	return writeReport(*out, &rep, progress)
}

// scenarioScale names section 8 for -only.
const scenarioScale = "scale"

// scaleSection runs section 8, unless -scale 0 skipped it.
func scaleSection(ctx context.Context, e *env, cfg config, server, role string) (scaleResult, error) {
	if len(cfg.scaleWaiters) == 0 && cfg.scaleLocks == 0 {
		e.progress("scale in one process: skipped (-scale 0)")
		return scaleResult{}, nil
	}
	e.progress("scale in one process, a session per phase on %s (%s): waiters on one lock %v, handoffs at %v, %d distinct locks",
		server, role, cfg.scaleWaiters, cfg.scaleHandoffAt, cfg.scaleLocks)
	return runScale(ctx, e, cfg, server, role)
}

func writeReport(out string, rep *report, progress func(string, ...any)) error {
	rep.took = time.Since(rep.started)
	if err := writeFile(out, rep.markdown()); err != nil {
		return err
	}
	progress("wrote %s", out)
	return nil
}

// pickFollower chooses the server the uncontended clients all use: a
// follower, where two clients in three land and writes take the extra hop
// to the leader. An ensemble whose roles cannot be read gets its first.
func pickFollower(c *zktest.Cluster) (server, role string) {
	servers := c.Servers()
	leader, err := c.Leader()
	if err != nil {
		return servers[0], "role unknown"
	}
	for i, s := range servers {
		if i != leader {
			return s, "follower"
		}
	}
	return servers[leader], "leader"
}

// commandLine is the command as run from the repository root.
func commandLine(args []string) string {
	parts := []string{"go", "run", "./bench/cmd/zkbench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	cmd := strings.Join(parts, " ")
	if s := os.Getenv("ZK_SERVERS"); s != "" {
		cmd = "ZK_SERVERS=" + s + " " + cmd
	}
	return cmd
}

// writeFile replaces path whole, so a failed run never leaves half a report.
func writeFile(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".zkbench-*")
	if err != nil {
		return err
	}
	_, werr := tmp.WriteString(text)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
