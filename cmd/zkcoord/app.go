package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the ensemble cannot be reached, the path is not a recipe, a read failed
	exitUsage   = 2 // unknown command or flag, missing or invalid argument

	// The commands that run a program (lock, elect, semaphore run) pass on
	// the program's own status, so their own failures take codes a program
	// rarely uses: sysexits(3)'s, and the shell's for a program that cannot
	// be run or a signal.
	exitUnavailable   = 69  // EX_UNAVAILABLE: the ensemble cannot be reached
	exitNotAcquired   = 75  // EX_TEMPFAIL: --try found it held, or --timeout passed
	exitLost          = 76  // the lock, permits or leadership were lost while the program ran
	exitNotExecutable = 126 // as a shell: the program exists but cannot be run
	exitNotFound      = 127 // as a shell: no such program
	exitSignalBase    = 128 // as a shell: interrupted by signal n before the program ran, 128+n
)

// Error kinds, as --json reports them in {"error": {"kind": ...}}.
const (
	kindUsage       = "usage"
	kindConnection  = "connection"   // no ensemble configured, or none of it reachable
	kindNotFound    = "not_found"    // the path does not exist
	kindNoContender = "no_contender" // the path exists but nobody holds, waits or campaigns
	kindNotARecipe  = "not_a_recipe" // the path holds something else
	kindZooKeeper   = "zookeeper"    // a read failed
	kindNotAcquired = "not_acquired" // --try or --timeout: not acquired
	kindLost        = "lost"         // lost while the program ran
	kindCommand     = "command"      // the program cannot be run
	kindInterrupted = "interrupted"
	kindOther       = "error"
)

// defaultTimeout bounds connecting, and each inspection's reads.
const defaultTimeout = 10 * time.Second

// sessionTimeout is what the CLI's session asks for. It holds nothing, so
// the value only matters for --watch riding out a server's failover.
const sessionTimeout = 10 * time.Second

// cliError is a failure with the exit code and kind it is reported with.
type cliError struct {
	code int
	kind string
	msg  string
}

func (e *cliError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &cliError{code: exitUsage, kind: kindUsage, msg: fmt.Sprintf(format, args...)}
}

func failure(kind, format string, args ...any) error {
	return &cliError{code: exitFailure, kind: kind, msg: fmt.Sprintf(format, args...)}
}

// app is one run of the command: its output, environment and global flags.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	servers string
	dir     string // --dir: the state of `zkcoord ensemble up`
	// dirChanged: --dir was given, and wins over $ZKCOORD_ENSEMBLE_DIR.
	dirChanged bool
	timeout    time.Duration
	json       bool

	// started is set once a command's own code runs: an error before that
	// is cobra's (unknown command or flag, wrong number of arguments).
	started bool
}

// run runs the command line args and returns the exit code. main is this
// with the process's arguments, output and environment; tests call it
// in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	defer func() {
		// A bug must not greet the user with a stack trace.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "zkcoord: internal error: %v (please report it)\n", r)
			code = exitFailure
		}
	}()
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return a.report(cmd, err)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "zkcoord",
		Short: "Run programs under ZooKeeper locks, permits or leadership; inspect them; demo; local ensemble",
		Long: `zkcoord runs a program while holding a lock (lock), some of a semaphore's
permits (semaphore run) or an election's leadership (elect), as flock(1),
etcdctl lock and consul lock do. It inspects coordination recipes on a
ZooKeeper ensemble, whoever made them: zkcoord, Apache Curator or kazoo
(ls, locks, semaphore, leader). Inspection only reads: it never creates,
changes or deletes a node.

The ensemble is --servers, else $ZK_SERVERS, else the local ensemble that
'zkcoord ensemble up' recorded in --dir (default $ZKCOORD_ENSEMBLE_DIR, else
.ensemble).

Exit codes of inspection: 0 success, 1 the ensemble cannot be reached or the
path is not what the command inspects, 2 usage (unknown flag, missing or
invalid argument). lock, elect and semaphore run exit with the program's own
status, or with their own codes, listed in their help.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.started = true
			if a.timeout <= 0 {
				return usageErr("--timeout must be positive, not %v", a.timeout)
			}
			if f := cmd.Flags().Lookup("dir"); f != nil && f.Changed {
				if strings.TrimSpace(a.dir) == "" {
					return usageErr("--dir must not be empty")
				}
				a.dirChanged = true
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.servers, "servers", "", "ZooKeeper servers, host:port,... (default $ZK_SERVERS, else the ensemble recorded by 'zkcoord ensemble up')")
	pf.DurationVar(&a.timeout, "timeout", defaultTimeout, "how long to wait for the ensemble, and for each inspection's reads")
	pf.BoolVar(&a.json, "json", false, "print one JSON document (--watch: one per line, per change)")
	pf.StringVar(&a.dir, "dir", defaultEnsembleDir, "the local ensemble's directory, as 'zkcoord ensemble up' records it, for any command (if not given: $ZKCOORD_ENSEMBLE_DIR, else .ensemble)")

	ensemble := ensembleCmd()
	ensemble.AddCommand(a.ensembleStatusCmd())
	root.AddCommand(demoCmd(), ensemble, a.locksCmd(), a.semaphoreCmd(), a.leaderCmd(), a.lsCmd(),
		a.lockCmd(), a.electCmd(), a.doctorCmd())
	return root
}

// report prints err, if any, and returns the exit code.
func (a *app) report(cmd *cobra.Command, err error) int {
	if err == nil {
		return exitOK
	}
	var st *exitStatus
	if errors.As(err, &st) { // the program's own status: it spoke for itself
		return st.code
	}
	code, kind, msg := exitFailure, kindOther, err.Error()
	var ce *cliError
	switch {
	case errors.As(err, &ce):
		code, kind, msg = ce.code, ce.kind, ce.msg
	case !a.started:
		code, kind = exitUsage, kindUsage
	case errors.Is(err, context.Canceled):
		msg = "interrupted"
	}
	fmt.Fprintln(a.stderr, "zkcoord: "+oneLine(msg))
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	if a.json && a.started {
		a.printJSON(map[string]any{"error": map[string]any{"kind": kind, "message": oneLine(msg), "exit_code": code}})
	}
	return code
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (a *app) printJSON(v any) {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// printJSONLine prints v as one line, for --watch streams.
func (a *app) printJSONLine(v any) {
	_ = json.NewEncoder(a.stdout).Encode(v)
}

// pathArg accepts exactly one argument, a path a recipe can live at.
func pathArg(example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usageErr("missing argument: %s needs the path to inspect, e.g. %s %s", cmd.CommandPath(), cmd.CommandPath(), example)
		case len(args) > 1:
			return usageErr("%s takes one path, got %d arguments: %s", cmd.CommandPath(), len(args), strings.Join(args, " "))
		}
		if err := recipes.ValidatePath(args[0]); err != nil {
			var pe *recipes.PathError
			if errors.As(err, &pe) {
				return usageErr("invalid path %q: %s", args[0], pe.Reason)
			}
			return usageErr("%v", err)
		}
		return nil
	}
}

// ensembleDir is where 'zkcoord ensemble up' keeps its state: --dir, else
// $ZKCOORD_ENSEMBLE_DIR, else .ensemble.
func (a *app) ensembleDir() string {
	if a.dirChanged {
		return a.dir
	}
	if d := a.getenv("ZKCOORD_ENSEMBLE_DIR"); d != "" {
		return d
	}
	return defaultEnsembleDir
}

// target is the ensemble to talk to and where that choice came from.
type target struct {
	servers []string
	source  string // "--servers", "ZK_SERVERS", "the ensemble recorded in DIR"
}

// resolveServers picks the ensemble: --servers, else $ZK_SERVERS, else the
// state 'zkcoord ensemble up' recorded in dir.
func (a *app) resolveServers(dir string) (target, error) {
	if s := strings.TrimSpace(a.servers); s != "" {
		list, err := parseServers(s)
		if err != nil {
			return target{}, usageErr("--servers: %v", err)
		}
		return target{list, "--servers"}, nil
	}
	if s := strings.TrimSpace(a.getenv("ZK_SERVERS")); s != "" {
		list, err := parseServers(s)
		if err != nil {
			return target{}, usageErr("ZK_SERVERS: %v", err)
		}
		return target{list, "ZK_SERVERS"}, nil
	}
	st, err := loadEnsembleState(dir)
	switch {
	case errors.Is(err, errNoEnsembleState):
		return target{}, failure(kindConnection,
			"no ZooKeeper ensemble given: pass --servers host:port,..., set ZK_SERVERS, or start a local one with `zkcoord ensemble up` (none is recorded in %s)", dir)
	case err != nil:
		return target{}, failure(kindConnection, "%v; pass --servers host:port,..., or set ZK_SERVERS", err)
	}
	return target{st.Servers, "the ensemble recorded in " + dir}, nil
}

// parseServers reads "host:port,host:port"; a host without a port gets
// ZooKeeper's 2181.
func parseServers(s string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		host, port, err := net.SplitHostPort(item)
		if err != nil {
			if !strings.Contains(err.Error(), "missing port") {
				return nil, fmt.Errorf("%q is not host:port", item)
			}
			host, port = strings.Trim(item, "[]"), "2181"
		}
		if host == "" || strings.ContainsAny(host, "/ \t") {
			return nil, fmt.Errorf("%q is not host:port (a chroot suffix is not supported)", item)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("%q: bad port %q", item, port)
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	if len(out) == 0 {
		return nil, errors.New("no server given")
	}
	return out, nil
}

// connect opens the session an inspection uses.
func (a *app) connect(ctx context.Context) (*session.Manager, error) {
	return a.connectWith(ctx, sessionOptions{timeout: sessionTimeout, identity: "zkcoord-cli", closeOnCancel: true})
}

// sessionOptions are what the commands that hold something set apart from
// inspection.
type sessionOptions struct {
	timeout  time.Duration
	identity string // "": the session's default, <hostname>/<pid>
	// closeOnCancel drops the connections once ctx ends, so that an
	// interrupted inspection need not wait on a silent server. A command
	// that holds a lock must not: it releases the lock after ctx ends.
	closeOnCancel bool
}

// connectWith opens a session to the ensemble, or explains in one line why
// it cannot and what to try.
func (a *app) connectWith(ctx context.Context, o sessionOptions) (*session.Manager, error) {
	t, err := a.resolveServers(a.ensembleDir())
	if err != nil {
		return nil, err
	}
	where := strings.Join(t.servers, ",")
	hint := "start a local ensemble with `zkcoord ensemble up`, or set ZK_SERVERS=host:port,... (or pass --servers)"
	if t.source != "--servers" && t.source != "ZK_SERVERS" {
		hint = "start it again with `zkcoord ensemble up`, or set ZK_SERVERS=host:port,... (or pass --servers)"
	}
	// Ask the network first: a refused or unroutable address is known at
	// once, and says more than a session that never comes.
	if err := dialAny(ctx, t.servers, a.timeout); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, failure(kindConnection, "cannot reach ZooKeeper at %s (from %s): %v; %s", where, t.source, err, hint)
	}
	conns := &connTracker{}
	cctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	// Giving up must not wait on a server that accepted the connection but
	// never answers: go-zookeeper would read its handshake for ten times
	// two thirds of the session timeout before the session manager's Close
	// could return.
	giveUp := context.AfterFunc(cctx, conns.closeAll)
	m, err := session.New(cctx, session.Config{
		Servers:        t.servers,
		SessionTimeout: o.timeout,
		Identity:       o.identity,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Dialer:         conns.dial,
	})
	if err == nil && !giveUp() { // the deadline came with the session
		m.Close()
		err = context.DeadlineExceeded
	}
	switch {
	case err == nil:
		// Interrupted (SIGINT), the session's Close must not wait on a
		// silent server either. The session holds nothing: the server
		// expiring it later costs nobody anything.
		if o.closeOnCancel {
			context.AfterFunc(ctx, conns.closeAll)
		}
		return m, nil
	case errors.Is(err, session.ErrInvalidConfig):
		return nil, usageErr("%v", err)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, failure(kindConnection, "cannot reach ZooKeeper at %s (from %s): no session within %v (is a quorum of servers up? `zkcoord ensemble status` tells); %s",
		where, t.source, a.timeout, hint)
}

// connTracker dials the session's connections and can close them all at
// once, and every later one as soon as it is dialled.
type connTracker struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

// trackedConn leaves its tracker when closed: a long --watch reconnects
// many times.
type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

func (t *connTracker) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return nil, errors.New("zkcoord: giving up on the ensemble")
	}
	if t.conns == nil {
		t.conns = map[*trackedConn]struct{}{}
	}
	tc := &trackedConn{Conn: c, t: t}
	t.conns[tc] = struct{}{}
	return tc, nil
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// dialAny returns nil once one server accepts a TCP connection, or why
// none did.
func dialAny(ctx context.Context, servers []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		addr string
		err  error
	}
	results := make(chan result, len(servers))
	var d net.Dialer
	for _, s := range servers {
		go func() {
			c, err := d.DialContext(ctx, "tcp", s)
			if err == nil {
				c.Close()
			}
			results <- result{s, err}
		}()
	}
	ok := false
	var why []string
	for range servers {
		r := <-results
		switch {
		case r.err == nil:
			ok = true
			cancel() // the others need not finish
		case !ok:
			why = append(why, dialReason(r.addr, r.err, timeout, len(servers) > 1))
		}
	}
	if ok {
		return nil
	}
	return errors.New(strings.Join(why, "; "))
}

func dialReason(addr string, err error, timeout time.Duration, name bool) string {
	reason := err.Error()
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		reason = fmt.Sprintf("no answer within %v", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.As(err, &dnsErr):
		reason = "unknown host " + dnsErr.Name
	default:
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			reason = op.Err.Error()
		}
	}
	if name {
		return addr + ": " + reason
	}
	return reason
}

// readError puts a failed read in the user's terms.
func readError(path string, err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return failure(kindZooKeeper, "no answer from ZooKeeper within %v while reading %s", timeout, path)
	case errors.Is(err, zk.ErrNoAuth):
		return failure(kindZooKeeper, "not allowed to read %s: its ACL refuses this client", path)
	}
	return failure(kindZooKeeper, "reading %s: %v", path, err)
}

// retryRead runs a read until it returns something other than a lost
// connection (reads are safe to repeat) or ctx ends.
func retryRead(ctx context.Context, read func() error) error {
	for {
		err := read()
		if err == nil || !errors.Is(err, session.ErrConnectionLoss) || ctx.Err() != nil {
			return err
		}
	}
}

// inspect connects, runs fn with a context bounded by --timeout, and closes
// the session.
func (a *app) inspect(cmd *cobra.Command, path string, fn func(ctx context.Context, m *session.Manager) error) error {
	m, err := a.connect(cmd.Context())
	if err != nil {
		return err
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
	defer cancel()
	err = fn(ctx, m)
	var ce *cliError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	if cmd.Context().Err() != nil {
		return failure(kindOther, "interrupted")
	}
	return readError(path, err, a.timeout)
}
