package zktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/internal/ports"
	"github.com/zkcoord/zkcoord/internal/proc"
)

// A detached ensemble is for development rather than tests: `zkcoord
// ensemble up` starts it and exits, and the servers run on, each in a
// session of its own with its output in log files, until `zkcoord ensemble
// down`. It is laid out and configured like a Cluster's servers (same JVM
// flags, same four-letter words allowed), but with a real tick. Nothing here
// keeps hold of a process: each call works from what the caller recorded
// (directory, ports, pid, config path), so a later run of the command can
// find, restart or stop the same servers.

// DefaultDetachedTick is the tickTime of a detached ensemble unless told
// otherwise: ZooKeeper's own default, so sessions of 4 to 40 s are allowed
// by the 2- and 20-tick defaults (zktest's config raises the ceiling to 100
// ticks).
const DefaultDetachedTick = 2 * time.Second

// serverMain is the class a server's JVM runs; with the config path after
// it, it identifies the server's process.
const serverMain = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

// DetachedServer is one member of a detached ensemble.
type DetachedServer struct {
	ID                                   int    // myid, 1-based
	Dir                                  string // absolute: zoo.cfg, data/, logs
	ClientPort, QuorumPort, ElectionPort int    // on 127.0.0.1
}

func (d DetachedServer) srv() *server {
	return &server{id: d.ID, dir: d.Dir, clientPort: d.ClientPort, quorumPort: d.QuorumPort, electionPort: d.ElectionPort}
}

// Addr is the server's client address, 127.0.0.1:port.
func (d DetachedServer) Addr() string { return d.srv().addr() }

// ConfigPath is the server's zoo.cfg, which its JVM is started with.
func (d DetachedServer) ConfigPath() string { return d.srv().cfgPath() }

// DataDir holds the server's snapshots and transaction log.
func (d DetachedServer) DataDir() string { return filepath.Join(d.Dir, "data") }

// LogFiles are the JVM's own output and ZooKeeper's log.
func (d DetachedServer) LogFiles() []string {
	s := d.srv()
	return []string{s.outPath(), s.logPath()}
}

// PortTaken says whether the server's logs report that a port it needed
// was in use.
func (d DetachedServer) PortTaken() bool { return d.srv().bindFailed() }

// PlanDetached lays out n servers in dir/server1 ... dir/serverN on loopback
// ports free at the moment, outside the kernel's ephemeral range (see
// internal/ports). It creates nothing; StartDetached reserves each server's
// ports for as long as its JVM lives.
func PlanDetached(dir string, n int) ([]DetachedServer, error) {
	if n < 1 || n > 254 {
		return nil, fmt.Errorf("zktest: an ensemble has 1 to 254 servers, not %d", n)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	r, err := ports.Reserve(3 * n)
	if err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	// The JVMs take the reservations over, port by port, in StartDetached.
	r.Release()
	picked := r.Ports
	out := make([]DetachedServer, n)
	for i := range out {
		out[i] = DetachedServer{
			ID:           i + 1,
			Dir:          filepath.Join(dir, "server"+strconv.Itoa(i+1)),
			ClientPort:   picked[3*i],
			QuorumPort:   picked[3*i+1],
			ElectionPort: picked[3*i+2],
		}
	}
	return out, nil
}

// CheckDetachedRuntime returns an error wrapping ErrNoZooKeeper when no
// ZooKeeper installation or java can be found, the same way New looks.
func CheckDetachedRuntime() error {
	_, err := findRuntime()
	return err
}

// DetachedOptions configure StartDetached.
type DetachedOptions struct {
	// TickTime is the servers' tick. Default DefaultDetachedTick.
	TickTime time.Duration
	// DieWithParent (Linux only) kills the server when the process that
	// started it dies: for tests of the command, so that a test binary
	// killed on -timeout leaves no server behind. Never for the command
	// itself, whose servers are meant to outlive it.
	DieWithParent bool
}

// StartDetached writes the config of all[i], a member of the ensemble all,
// into its directory (keeping its data) and starts its JVM in a new session
// and process group, stdin from /dev/null, stdout and stderr appended to
// its stdout.log. It returns the pid once the JVM runs; whether it serves
// is WaitDetached's to say.
func StartDetached(all []DetachedServer, i int, opts DetachedOptions) (pid int, err error) {
	if i < 0 || i >= len(all) {
		return 0, fmt.Errorf("zktest: no server %d in an ensemble of %d", i, len(all))
	}
	if opts.TickTime == 0 {
		opts.TickTime = DefaultDetachedTick
	}
	if opts.TickTime < time.Millisecond {
		return 0, fmt.Errorf("zktest: TickTime %v is below 1ms", opts.TickTime)
	}
	if err := detachedSupported(); err != nil {
		return 0, err
	}
	env, err := findRuntime()
	if err != nil {
		return 0, err
	}
	servers := make([]*server, len(all))
	for j, d := range all {
		if !filepath.IsAbs(d.Dir) {
			return 0, fmt.Errorf("zktest: server %d's directory %q is not absolute", d.ID, d.Dir)
		}
		servers[j] = d.srv()
		servers[j].env = env
	}
	s := servers[i]
	timings, err := withTimings(Options{TickTime: opts.TickTime})
	if err != nil {
		return 0, err
	}
	addrs := make([]string, len(servers))
	for j, o := range servers {
		addrs[j] = fmt.Sprintf("127.0.0.1:%d:%d", o.quorumPort, o.electionPort)
	}
	if err := s.writeConfig(servers, addrs, timings); err != nil {
		return 0, err
	}
	out, err := os.OpenFile(s.outPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("zktest: %w", err)
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(env.java, s.args()...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out // stdin: /dev/null
	cmd.SysProcAttr = detachedAttr(opts.DieWithParent)
	// The JVM holds its own ports' reservations, so that a test run cannot
	// reserve a follower's quorum port, unbound until it leads, while the
	// server lives. A port reserved elsewhere is no reason not to start: the
	// server was given it, and a bind failure says so plainly.
	for _, port := range []int{s.clientPort, s.quorumPort, s.electionPort} {
		if f, err := ports.Hold(port); err == nil && f != nil {
			defer f.Close() // the child has its own copy
			cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		}
	}
	// The JVM is this process's child until this process exits (a command
	// does so at once, and the JVM passes to init): reap it if it dies
	// before, so that it leaves no zombie holding its pid. (internal/proc:
	// DieWithParent's signal must mean the parent died, not a thread.)
	exited := make(chan struct{})
	if err := proc.Start(cmd, func() {
		_ = cmd.Wait()
		close(exited)
	}); err != nil {
		return 0, fmt.Errorf("zktest: starting server %d: %w", s.id, err)
	}
	awaitExec(cmd.Process.Pid, s.cfgPath(), exited)
	return cmd.Process.Pid, nil
}

// awaitExec waits until the process pid shows itself as the server started
// with config, or exits. exec.Cmd.Start returns once the kernel has begun
// the exec, not finished it: for a moment /proc shows the new process with
// an empty command line, which DetachedRunning, rightly for a process that
// is exiting, reads as a server that is gone. A server that exits at once,
// or takes too long, is left for WaitDetached to report.
func awaitExec(pid int, config string, exited <-chan struct{}) {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for !DetachedRunning(pid, config) {
		select {
		case <-exited:
			return
		case <-deadline.C:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// DetachedRunning reports whether pid is a running ZooKeeper server started
// with config: a live process, neither exiting nor a zombie, whose command
// line ends with QuorumPeerMain and config, so a pid the system reused for
// something else does not count. Once false, it stays false for that pid
// (but for the pid's reuse by the same server, which only StartDetached
// does). Outside Linux, where the command line cannot be read, it only
// asks whether pid exists.
func DetachedRunning(pid int, config string) bool {
	return pid > 0 && detachedAlive(pid, config)
}

// WaitDetachedGone waits, at most d, until nothing is left of the server
// pid started with config: a server that is not running may still be
// exiting, with its ports open. It reports whether it is gone.
func WaitDetachedGone(pid int, config string, d time.Duration) bool {
	if pid <= 0 || detachedGone(pid, config) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return poll(ctx, func() error {
		if !detachedGone(pid, config) {
			return errors.New("not gone")
		}
		return nil
	}) == nil
}

// FindDetached returns the running ZooKeeper servers whose config lies in
// dir, pid by config path: servers started from dir whose pid was never
// recorded or has been lost. Only Linux can tell; elsewhere it finds none.
func FindDetached(dir string) map[string]int {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	return findDetached(dir)
}

// detachedKillWait bounds waiting for a server to vanish after SIGKILL.
const detachedKillWait = 10 * time.Second

// StopDetached stops the server pid started with config: SIGTERM to its
// process group, then, if it is still running after grace, SIGKILL. It
// returns once nothing is left of the process and its ports are closed
// (forced says whether SIGKILL was needed), or an error if it survives
// both. A server that is not running is only waited for, in case it is
// exiting.
func StopDetached(pid int, config string, grace time.Duration) (forced bool, err error) {
	if pid <= 0 {
		return false, nil
	}
	if DetachedRunning(pid, config) {
		signalGroup(pid, false)
		if WaitDetachedGone(pid, config, grace) {
			return false, nil
		}
		forced = true
		signalGroup(pid, true)
	}
	if WaitDetachedGone(pid, config, detachedKillWait) {
		return forced, nil
	}
	if !forced { // exiting for too long: help it
		forced = true
		signalGroup(pid, true)
		if WaitDetachedGone(pid, config, detachedKillWait) {
			return forced, nil
		}
	}
	return forced, fmt.Errorf("zktest: server process %d survived SIGKILL for %v", pid, detachedKillWait)
}

// flwReason puts a failed four-letter word in a few words.
func flwReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %v", flwTimeout)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// DetachedProcess is a server's process as recorded when it was started.
type DetachedProcess struct {
	PID    int
	Config string // the config path it was started with
}

// WaitError says why WaitDetached gave up.
type WaitError struct {
	Server int    // ID of the server at fault; 0 when no single one is
	Exited bool   // that server's process is gone
	Reason string // what was still wrong
	ctxErr error
}

func (e *WaitError) Error() string {
	if e.ctxErr != nil {
		return e.ctxErr.Error() + ": " + e.Reason
	}
	return e.Reason
}

// Unwrap returns the context's error when the wait ran out of time or was
// cancelled.
func (e *WaitError) Unwrap() error { return e.ctxErr }

// WaitDetached waits until a majority of the ensemble's servers serve (srvr
// shows a Mode), one of them leads, and a client can write; then, for at
// most settle more, until every server serves. It returns the IDs of the
// servers still not serving then. procs[i], when its PID is positive, is
// all[i]'s process: if it exits meanwhile, the wait ends at once with a
// WaitError naming it. Every wait is bounded by ctx.
func WaitDetached(ctx context.Context, all []DetachedServer, procs []DetachedProcess, settle time.Duration) (lagging []int, err error) {
	if len(procs) != len(all) {
		return nil, fmt.Errorf("zktest: %d processes for %d servers", len(procs), len(all))
	}
	var last *WaitError
	check := func(needAll bool) error {
		serving, leader := 0, false
		var complaint *WaitError
		lagging = lagging[:0]
		for i, d := range all {
			if p := procs[i]; p.PID > 0 && !DetachedRunning(p.PID, p.Config) {
				return permanent(&WaitError{Server: d.ID, Exited: true, Reason: fmt.Sprintf("server %d (pid %d) exited", d.ID, p.PID)})
			}
			out, err := fourLetter(d.Addr(), "srvr")
			mode := parseMode(out)
			switch {
			case err != nil:
				complaint = &WaitError{Server: d.ID, Reason: fmt.Sprintf("server %d (%s): %s", d.ID, d.Addr(), flwReason(err))}
			case mode == "":
				complaint = &WaitError{Server: d.ID, Reason: fmt.Sprintf("server %d (%s) is not serving", d.ID, d.Addr())}
			default:
				serving++
				leader = leader || mode == "leader" || mode == "standalone"
				continue
			}
			lagging = append(lagging, d.ID)
		}
		switch {
		case serving <= len(all)/2:
			last = complaint
			last.Reason = fmt.Sprintf("%d of %d servers serve; %s", serving, len(all), complaint.Reason)
			return last
		case !leader:
			last = &WaitError{Reason: fmt.Sprintf("%d of %d servers serve, but none leads", serving, len(all))}
			return last
		case needAll && complaint != nil:
			last = complaint
			return last
		}
		return nil
	}
	fail := func(err error) error {
		var we *WaitError
		if errors.As(err, &we) && we.Exited {
			return we
		}
		if last == nil {
			last = &WaitError{Reason: err.Error()}
		}
		if ctx.Err() != nil {
			last.ctxErr = ctx.Err()
		}
		return last
	}
	if err := poll(ctx, func() error { return check(false) }); err != nil {
		return nil, fail(err)
	}
	// srvr can say "leader" a moment before the quorum takes writes; a
	// real write is the only proof.
	addrs := make([]string, len(all))
	for i, d := range all {
		addrs[i] = d.Addr()
	}
	if err := (&Cluster{addrs: addrs}).probe(ctx, true); err != nil {
		last = &WaitError{Reason: "no client write succeeded: " + err.Error()}
		return nil, fail(err)
	}
	sctx, cancel := context.WithTimeout(ctx, settle)
	defer cancel()
	err = poll(sctx, func() error { return check(true) })
	var we *WaitError
	if errors.As(err, &we) && we.Exited {
		return nil, we
	}
	if err != nil && ctx.Err() != nil {
		return nil, fail(err) // cancelled, not merely settled
	}
	if err == nil {
		return nil, nil
	}
	return lagging, nil
}
