package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/zktest"
)

// A local ensemble for development: `ensemble up` starts ZooKeeper JVMs
// that outlive it, records them in <dir>/ensemble.json, and `ensemble
// down` stops them and removes the directory. Everything up needs to find,
// restart or stop the servers later is in that file; the servers' configs,
// data and logs are in <dir>/server<id>/.

const (
	maxLocalNodes    = 9                // a development ensemble on one machine
	defaultUpWait    = time.Minute      // JVM start and leader election, on a loaded machine
	upSettle         = 15 * time.Second // after a quorum serves, for the rest to join
	stopGrace        = 10 * time.Second // SIGTERM to SIGKILL
	ensembleLockFile = ".lock"
)

// ensembleDieWithParent ties the servers to the process that starts them.
// Only this package's tests set it, so that a test binary killed on
// -timeout leaves no JVM behind; the command's servers must outlive it.
var ensembleDieWithParent = false

// localEnsemble is the whole of ensemble.json as `ensemble up` writes it.
// ensembleState (ensemble_status.go) reads its servers field, which is
// all other commands need.
type localEnsemble struct {
	Servers []string      `json:"servers"`
	TickMS  int64         `json:"tick_ms"`
	Members []localServer `json:"members"`
}

type localServer struct {
	ID           int      `json:"id"`
	Address      string   `json:"address"`
	ClientPort   int      `json:"client_port"`
	QuorumPort   int      `json:"quorum_port"`
	ElectionPort int      `json:"election_port"`
	Dir          string   `json:"dir"`      // zoo.cfg, data/, logs
	DataDir      string   `json:"data_dir"` // snapshots and transaction log
	Config       string   `json:"config"`   // what the recorded process was started with
	Logs         []string `json:"logs"`
	PID          int      `json:"pid"` // 0: not started yet
}

func ensembleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ensemble",
		Short: "A local ZooKeeper ensemble for development",
		Long: `A local ZooKeeper ensemble for development: up starts it (Java processes
from the installed ZooKeeper, which keep running after the command ends),
status says which servers serve, down stops it and removes its state.

Its state, the servers' data and their logs live in the directory --dir,
else $ZKCOORD_ENSEMBLE_DIR, else .ensemble in the current directory. Other
zkcoord commands run from the same place find the ensemble there.`,
	}
	var nodes int
	var wait time.Duration
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the ensemble, or restart its servers that died (idempotent)",
		Long: `Start an ensemble of --nodes ZooKeeper servers on loopback ports picked at
the first start, and wait until it serves. When it runs already, say so; when
some of its servers died (a crash, a reboot), start them again with their
data and ports.

The servers are Java processes from the ZooKeeper that scripts/install-zookeeper
installs (Debian's zookeeper package), or from $ZOOKEEPER_HOME, an unpacked
Apache release; java is taken from $JAVA_HOME, else PATH. They run in a
session of their own, their output in <dir>/server<id>/stdout.log and
zookeeper.log, with tickTime 2s.

They are set up for development, and differ from a stock server; up prints
how. Empty lock, semaphore and election directories (container nodes) are
removed within 0.1 s (znode.container.checkIntervalMs=100): on a stock
server the container check runs every 60 s, so an emptied directory lingers
up to a minute (ls shows it as plain, locks says nobody holds it), which is
harmless. TTL nodes are allowed (zookeeper.extendedTypesEnabled=true);
sessions may last 4 s to 200 s (stock: up to 40 s); writes are not fsynced;
every four-letter word is answered; clients connect on loopback only.

The server list is printed, and recorded in <dir>/ensemble.json for the
other commands. --json prints {"dir", "action", "restarted", "lagging",
"servers", "tick_ms", "members": [{"id", "address", "client_port",
"quorum_port", "election_port", "dir", "data_dir", "config", "logs", "pid"}],
"differs_from_stock": [{"setting", "value", "stock", "effect"}]}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := ensembleDirFlag(cmd)
			if err != nil {
				return err
			}
			if nodes < 1 || nodes > maxLocalNodes {
				return usageErr("--nodes must be between 1 and %d, not %d (3 is usual: it survives one server's loss)", maxLocalNodes, nodes)
			}
			if wait <= 0 {
				return usageErr("--wait must be positive, not %v", wait)
			}
			u := &upRun{
				out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), json: jsonFlag(cmd),
				dir: d, nodes: nodes, nodesSet: cmd.Flags().Changed("nodes"), wait: wait,
			}
			return u.run(cmd.Context())
		},
	}
	up.Flags().IntVar(&nodes, "nodes", 3, "number of servers, at the first start")
	up.Flags().DurationVar(&wait, "wait", defaultUpWait, "how long to wait for the ensemble to serve")
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the ensemble and remove its state (idempotent)",
		Long: `Stop every server the ensemble in --dir recorded (SIGTERM, then SIGKILL
after 10s), and remove the directory with the servers' data and logs.
Nothing running or recorded is not an error.

--json prints {"dir", "stopped", "forced", "not_running", "removed", "left"}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := ensembleDirFlag(cmd)
			if err != nil {
				return err
			}
			return ensembleDown(cmd.Context(), cmd.OutOrStdout(), jsonFlag(cmd), d)
		},
	}
	cmd.AddCommand(up, down)
	return cmd
}

// ensembleDirFlag is --dir if given, else $ZKCOORD_ENSEMBLE_DIR, else
// .ensemble, as for `ensemble status` (app.ensembleDir). The command has
// no app to ask, so the variable comes from the process's environment,
// which is the app's in every run but an in-process test's.
func ensembleDirFlag(cmd *cobra.Command) (string, error) {
	if f := cmd.Flags().Lookup("dir"); f != nil && f.Changed {
		if strings.TrimSpace(f.Value.String()) == "" {
			return "", usageErr("--dir must not be empty")
		}
		return f.Value.String(), nil
	}
	if d := os.Getenv("ZKCOORD_ENSEMBLE_DIR"); d != "" {
		return d, nil
	}
	return defaultEnsembleDir, nil
}

func jsonFlag(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

// readLocalEnsemble reads dir's ensemble.json: nil when there is none.
func readLocalEnsemble(dir string) (*localEnsemble, error) {
	file := filepath.Join(dir, ensembleStateFile)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", file, err)
	}
	var st localEnsemble
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): `zkcoord ensemble down` stops what it can find and removes it", file, err)
	}
	for i, m := range st.Members {
		if m.ID != i+1 || m.ClientPort <= 0 || m.QuorumPort <= 0 || m.ElectionPort <= 0 {
			return nil, fmt.Errorf("%s is damaged (member %d: id %d, ports %d, %d, %d): `zkcoord ensemble down` stops what it can find and removes it",
				file, i, m.ID, m.ClientPort, m.QuorumPort, m.ElectionPort)
		}
	}
	return &st, nil
}

// writeLocalEnsemble replaces dir's ensemble.json in one rename, so that a
// reader never sees half of it.
func writeLocalEnsemble(dir string, st *localEnsemble) error {
	st.Servers = st.Servers[:0]
	for _, m := range st.Members {
		st.Servers = append(st.Servers, m.Address)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ensembleStateFile+".*")
	if err != nil {
		return fmt.Errorf("recording the ensemble: %v", err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp makes it 0600
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, ensembleStateFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("recording the ensemble in %s: %v", filepath.Join(dir, ensembleStateFile), err)
	}
	return nil
}

// servers returns the members as zktest lays them out, in the directory
// where the state is now (it may have moved since the first start).
func (st *localEnsemble) servers(abs string) []zktest.DetachedServer {
	out := make([]zktest.DetachedServer, len(st.Members))
	for i, m := range st.Members {
		out[i] = zktest.DetachedServer{
			ID:           m.ID,
			Dir:          filepath.Join(abs, "server"+strconv.Itoa(m.ID)),
			ClientPort:   m.ClientPort,
			QuorumPort:   m.QuorumPort,
			ElectionPort: m.ElectionPort,
		}
	}
	return out
}

func (st *localEnsemble) processes() []zktest.DetachedProcess {
	out := make([]zktest.DetachedProcess, len(st.Members))
	for i, m := range st.Members {
		out[i] = zktest.DetachedProcess{PID: m.PID, Config: m.Config}
	}
	return out
}

func (st *localEnsemble) tick() time.Duration {
	if st.TickMS <= 0 {
		return zktest.DefaultDetachedTick
	}
	return time.Duration(st.TickMS) * time.Millisecond
}

func memberOf(d zktest.DetachedServer) localServer {
	return localServer{
		ID: d.ID, Address: d.Addr(),
		ClientPort: d.ClientPort, QuorumPort: d.QuorumPort, ElectionPort: d.ElectionPort,
		Dir: d.Dir, DataDir: d.DataDir(), Config: d.ConfigPath(), Logs: d.LogFiles(),
	}
}

// upRun is one `ensemble up`.
type upRun struct {
	out, errOut io.Writer
	json        bool
	dir         string // as the user named it, for messages
	abs         string
	nodes       int
	nodesSet    bool
	wait        time.Duration
	gone        []string // pids of the servers found dead, for the report
}

// upReport is what `ensemble up --json` prints.
type upReport struct {
	Dir       string `json:"dir"`
	Action    string `json:"action"` // started, restarted, already_running
	Restarted []int  `json:"restarted"`
	Lagging   []int  `json:"lagging"` // servers not serving yet, though a quorum does
	localEnsemble
	DiffersFromStock []stockDiff `json:"differs_from_stock"`
}

func (u *upRun) run(ctx context.Context) error {
	abs, err := filepath.Abs(u.dir)
	if err != nil {
		return failure(kindOther, "state directory %s: %v", u.dir, err)
	}
	u.abs = abs
	_, statErr := os.Stat(abs)
	created := errors.Is(statErr, fs.ErrNotExist)
	_, lockErr := os.Stat(filepath.Join(abs, ensembleLockFile))
	unlock, err := lockEnsembleDir(ctx, abs, true, u.wait)
	if err != nil {
		return err
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(ctx, u.wait) // from here on: for the ensemble to serve
	defer cancel()
	st, err := readLocalEnsemble(abs)
	if (err != nil || st != nil && len(st.Members) == 0) && lockErr != nil {
		// Not an ensemble up made: leave the directory as it was.
		os.Remove(filepath.Join(abs, ensembleLockFile))
	}
	switch {
	case err != nil:
		return failure(kindOther, "%v", err)
	case st == nil:
		return u.start(ctx, created)
	case len(st.Members) == 0:
		return failure(kindOther, "%s lists servers but no processes: it was not written by `zkcoord ensemble up`; use another --dir, or remove the file",
			filepath.Join(u.dir, ensembleStateFile))
	case u.nodesSet && u.nodes != len(st.Members):
		return failure(kindOther, "the ensemble in %s has %d servers, not %d: `zkcoord ensemble down` first to start a new one (that removes its data)",
			u.dir, len(st.Members), u.nodes)
	}
	return u.resume(ctx, st)
}

func noZooKeeper(err error) error {
	if errors.Is(err, zktest.ErrNoZooKeeper) {
		why := ""
		if _, detail, ok := strings.Cut(err.Error(), " ("); ok {
			why = " (" + detail
		}
		return failure(kindOther, "no ZooKeeper found%s: run `make install-zookeeper` (Debian's zookeeper package and a JRE), or set ZOOKEEPER_HOME to an unpacked Apache ZooKeeper release, with java on PATH or in JAVA_HOME", why)
	}
	return failure(kindOther, "%v", strings.TrimPrefix(err.Error(), "zktest: "))
}

// start makes a new ensemble. The state is recorded before any server
// starts, so that down finds whatever up leaves behind.
func (u *upRun) start(ctx context.Context, created bool) error {
	begin := time.Now()
	if err := zktest.CheckDetachedRuntime(); err != nil {
		u.discard(&localEnsemble{}, created)
		return noZooKeeper(err)
	}
	for attempt := 1; ; attempt++ {
		plan, err := zktest.PlanDetached(u.abs, u.nodes)
		if err != nil {
			return failure(kindOther, "%v", strings.TrimPrefix(err.Error(), "zktest: "))
		}
		st := &localEnsemble{TickMS: zktest.DefaultDetachedTick.Milliseconds()}
		for _, d := range plan {
			st.Members = append(st.Members, memberOf(d))
		}
		if err := writeLocalEnsemble(u.abs, st); err != nil {
			u.discard(st, created)
			return failure(kindOther, "%v", err)
		}
		if err := u.launch(st, plan, allIDs(st)); err != nil {
			if !anyRunning(st) {
				u.discard(st, created)
			}
			return err
		}
		lagging, err := zktest.WaitDetached(ctx, plan, st.processes(), upSettle)
		if err != nil && attempt == 1 && portTaken(plan) && ctx.Err() == nil {
			// Something took a port between picking it and the JVM binding
			// it: nothing is lost by starting over on new ports.
			stopAll(st)
			u.removeServers(st)
			continue
		}
		if err != nil {
			return u.waitFailed(err, st, plan)
		}
		return u.report("started", st, nil, lagging, begin)
	}
}

// resume restarts the servers of a recorded ensemble that are not running.
func (u *upRun) resume(ctx context.Context, st *localEnsemble) error {
	begin := time.Now()
	plan := st.servers(u.abs)
	found := zktest.FindDetached(u.abs)
	var restarted []int
	var gone []string
	adopted := false
	for i, m := range st.Members {
		if zktest.DetachedRunning(m.PID, m.Config) {
			continue
		}
		cfg := plan[i].ConfigPath()
		if pid, ok := found[cfg]; ok { // running, but its pid was not recorded
			st.Members[i].PID, st.Members[i].Config = pid, cfg
			adopted = true
			continue
		}
		// Killed a moment ago, it may still hold its ports while its
		// threads finish.
		if !zktest.WaitDetachedGone(m.PID, m.Config, stopGrace) {
			return failure(kindOther, "server %d (pid %d) has been exiting for %v and still holds its ports: try again, or `zkcoord ensemble down`", m.ID, m.PID, stopGrace)
		}
		restarted = append(restarted, m.ID)
		if m.PID > 0 {
			gone = append(gone, strconv.Itoa(m.PID))
		}
	}
	if len(restarted) > 0 {
		if err := u.launch(st, plan, restarted); err != nil {
			return err
		}
	} else if adopted {
		if err := writeLocalEnsemble(u.abs, st); err != nil {
			return failure(kindOther, "%v", err)
		}
	}
	lagging, err := zktest.WaitDetached(ctx, plan, st.processes(), upSettle)
	if err != nil {
		return u.waitFailed(err, st, plan)
	}
	action := "already_running"
	if len(restarted) > 0 {
		action = "restarted"
	}
	u.gone = gone
	return u.report(action, st, restarted, lagging, begin)
}

// launch starts the servers ids of st, recording each pid as soon as it is
// known.
func (u *upRun) launch(st *localEnsemble, plan []zktest.DetachedServer, ids []int) error {
	opts := zktest.DetachedOptions{TickTime: st.tick(), DieWithParent: ensembleDieWithParent}
	var startErr error
	for _, id := range ids {
		i := id - 1
		pid, err := zktest.StartDetached(plan, i, opts)
		if errors.Is(err, zktest.ErrNoZooKeeper) {
			startErr = noZooKeeper(err)
			break
		}
		if err != nil {
			startErr = failure(kindOther, "starting server %d: %v", id, strings.TrimPrefix(err.Error(), "zktest: "))
			break
		}
		m := memberOf(plan[i])
		m.PID = pid
		st.Members[i] = m
	}
	if err := writeLocalEnsemble(u.abs, st); err != nil && startErr == nil {
		startErr = failure(kindOther, "%v; `zkcoord ensemble down` may not find the servers it started", err)
	}
	if startErr != nil && anyRunning(st) {
		return failure(kindOther, "%v; the servers already started run on: `zkcoord ensemble down` stops them", startErr)
	}
	return startErr
}

// waitFailed explains, in one line, why the ensemble does not serve, and
// where to look.
func (u *upRun) waitFailed(err error, st *localEnsemble, plan []zktest.DetachedServer) error {
	var we *zktest.WaitError
	if !errors.As(err, &we) {
		return failure(kindOther, "%v", err)
	}
	if errors.Is(err, context.Canceled) {
		return failure(kindOther, "interrupted while waiting for the ensemble in %s to serve; `zkcoord ensemble status` tells how it is doing, `zkcoord ensemble down` stops it", u.dir)
	}
	logs := filepath.Join(u.dir, "server*", "zookeeper.log")
	if we.Server > 0 {
		logs = strings.Join(u.logs(we.Server), " and ")
	}
	running := "; the servers that run are left running: `zkcoord ensemble down` stops them"
	if !anyRunning(st) {
		running = "; `zkcoord ensemble down` removes what is left"
	}
	switch {
	case we.Exited && we.Server > 0 && plan[we.Server-1].PortTaken():
		d := plan[we.Server-1]
		return failure(kindOther, "server %d exited: one of its ports (%d, %d, %d) is taken by another process (see %s): free it and run `zkcoord ensemble up` again, or `zkcoord ensemble down` (which deletes the data) and `up` for new ports",
			we.Server, d.ClientPort, d.QuorumPort, d.ElectionPort, logs)
	case we.Exited:
		return failure(kindOther, "%s during startup: see %s%s", we.Reason, logs, running)
	}
	return failure(kindOther, "the ensemble in %s did not serve within %v (%s): see %s%s", u.dir, u.wait, we.Reason, logs, running)
}

// logs names server id's log files as the user knows the directory.
func (u *upRun) logs(id int) []string {
	dir := filepath.Join(u.dir, "server"+strconv.Itoa(id))
	return []string{filepath.Join(dir, "stdout.log"), filepath.Join(dir, "zookeeper.log")}
}

func (u *upRun) report(action string, st *localEnsemble, restarted, lagging []int, begin time.Time) error {
	diffs := slices.Clone(jvmDiffs)
	if len(st.Members) > 0 {
		if d, err := stockDiffs(st.Members[0].Config); err == nil {
			diffs = d
		}
	}
	if u.json {
		enc := json.NewEncoder(u.out)
		enc.SetIndent("", "  ")
		return enc.Encode(upReport{Dir: u.abs, Action: action, Restarted: nonNil(restarted), Lagging: nonNil(lagging), localEnsemble: *st, DiffersFromStock: diffs})
	}
	servers := strings.Join(st.Servers, ",")
	n := len(st.Members)
	took := time.Since(begin).Round(100 * time.Millisecond)
	switch action {
	case "started":
		fmt.Fprintf(u.out, "started %d ZooKeeper %s in %s (data and logs in %s), serving after %v\n",
			n, pluralize(n, "server", "servers"), u.dir, filepath.Join(u.dir, "server*"), took)
	case "restarted":
		why := ""
		if len(u.gone) > 0 {
			why = fmt.Sprintf(" (%s %s %s gone)", pluralize(len(u.gone), "pid", "pids"), joinAnd(u.gone), pluralize(len(u.gone), "was", "were"))
		}
		fmt.Fprintf(u.out, "restarted %s %s in %s with %s data%s, serving after %v\n",
			pluralize(len(restarted), "server", "servers"), joinAnd(intStrings(restarted)), u.dir, pluralize(len(restarted), "its", "their"), why, took)
	default:
		var pids []int
		for _, m := range st.Members {
			pids = append(pids, m.PID)
		}
		fmt.Fprintf(u.out, "already running in %s: %d %s (%s %s)\n", u.dir, n, pluralize(n, "server", "servers"), pluralize(n, "pid", "pids"), joinInts(pids))
	}
	for _, id := range lagging {
		fmt.Fprintf(u.errOut, "zkcoord: warning: server %d (%s) does not serve yet, though a quorum does: see %s\n",
			id, st.Members[id-1].Address, strings.Join(u.logs(id), " and "))
	}
	printStockDiffs(u.out, diffs)
	fmt.Fprintf(u.out, "servers: %s\n", servers)
	fmt.Fprintf(u.out, "export ZK_SERVERS=%s\n", servers)
	if env := strings.TrimSpace(os.Getenv("ZK_SERVERS")); env != "" && env != servers {
		fmt.Fprintf(u.errOut, "zkcoord: note: ZK_SERVERS is set (%s): zkcoord commands use it, not this ensemble, until it is changed\n", env)
	}
	return nil
}

// discard removes what a failed first start made: the servers' directories
// and the state, and the state directory if up created it.
func (u *upRun) discard(st *localEnsemble, created bool) {
	u.removeServers(st)
	os.Remove(filepath.Join(u.abs, ensembleLockFile))
	if created {
		os.Remove(u.abs)
	}
}

// removeServers removes the servers' directories and the state.
func (u *upRun) removeServers(st *localEnsemble) {
	for _, m := range st.Members {
		os.RemoveAll(filepath.Join(u.abs, "server"+strconv.Itoa(m.ID)))
	}
	os.Remove(filepath.Join(u.abs, ensembleStateFile))
}

func anyRunning(st *localEnsemble) bool {
	for _, m := range st.Members {
		if zktest.DetachedRunning(m.PID, m.Config) {
			return true
		}
	}
	return false
}

func portTaken(plan []zktest.DetachedServer) bool {
	return slices.ContainsFunc(plan, zktest.DetachedServer.PortTaken)
}

func allIDs(st *localEnsemble) []int {
	ids := make([]int, len(st.Members))
	for i, m := range st.Members {
		ids[i] = m.ID
	}
	return ids
}

// stopAll stops st's servers at once.
func stopAll(st *localEnsemble) []stopResult {
	var targets []stopTarget
	for _, m := range st.Members {
		targets = append(targets, stopTarget{id: m.ID, pid: m.PID, config: m.Config})
	}
	return stopTargets(targets)
}

type stopTarget struct {
	id     int // 0: a server found running in the directory, not recorded
	pid    int
	config string
}

type stopResult struct {
	running bool // it ran when down began
	forced  bool // it needed SIGKILL
	err     error
}

// stopTargets stops the servers at once, and returns what became of each.
func stopTargets(targets []stopTarget) []stopResult {
	results := make([]stopResult, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		results[i].running = zktest.DetachedRunning(t.pid, t.config)
		if t.pid <= 0 {
			continue
		}
		// One that is not running may still be exiting: StopDetached
		// waits for it too.
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].forced, results[i].err = zktest.StopDetached(t.pid, t.config, stopGrace)
		}()
	}
	wg.Wait()
	return results
}

// downReport is what `ensemble down --json` prints.
type downReport struct {
	Dir        string `json:"dir"`
	Stopped    []int  `json:"stopped"`     // pids stopped
	Forced     []int  `json:"forced"`      // of those, pids that needed SIGKILL
	NotRunning []int  `json:"not_running"` // recorded servers already gone, by id
	Removed    bool   `json:"removed"`     // the directory is gone
	Left       string `json:"left"`        // why it is not, if so
}

func ensembleDown(ctx context.Context, w io.Writer, jsonOut bool, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return failure(kindOther, "state directory %s: %v", dir, err)
	}
	rep := downReport{Dir: abs, Stopped: []int{}, Forced: []int{}, NotRunning: []int{}}
	say := func(format string, args ...any) {
		if !jsonOut {
			fmt.Fprintf(w, format, args...)
		}
	}
	done := func() error {
		if jsonOut {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		return nil
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		rep.Removed = true
		say("no local ensemble in %s: nothing to stop\n", dir)
		return done()
	}
	if _, err := os.Stat(filepath.Join(abs, ensembleStateFile)); errors.Is(err, fs.ErrNotExist) && len(zktest.FindDetached(abs)) == 0 {
		// Not an ensemble's directory, or not any more: not down's to touch.
		say("no local ensemble in %s: nothing to stop\n", dir)
		return done()
	}
	unlock, err := lockEnsembleDir(ctx, abs, false, defaultUpWait)
	if errors.Is(err, fs.ErrNotExist) { // removed by another down meanwhile
		rep.Removed = true
		say("no local ensemble in %s: nothing to stop\n", dir)
		return done()
	}
	if err != nil {
		return err
	}
	defer unlock()

	st, stateErr := readLocalEnsemble(abs)
	_, statErr := os.Stat(filepath.Join(abs, ensembleStateFile))
	recorded := statErr == nil // even if damaged: then only what is found is stopped
	var targets []stopTarget
	covered := map[string]bool{}
	if st != nil {
		for _, m := range st.Members {
			targets = append(targets, stopTarget{id: m.ID, pid: m.PID, config: m.Config})
			covered[m.Config] = true
		}
	}
	for cfg, pid := range zktest.FindDetached(abs) {
		if !covered[cfg] {
			targets = append(targets, stopTarget{pid: pid, config: cfg})
		}
	}
	if !recorded && len(targets) == 0 {
		say("no local ensemble in %s: nothing to stop\n", dir)
		return done()
	}
	results := stopTargets(targets)
	var failed []string
	for i, t := range targets {
		r := results[i]
		switch {
		case r.err != nil:
			failed = append(failed, fmt.Sprintf("pid %d: %v", t.pid, strings.TrimPrefix(r.err.Error(), "zktest: ")))
		case r.running:
			rep.Stopped = append(rep.Stopped, t.pid)
			if r.forced {
				rep.Forced = append(rep.Forced, t.pid)
			}
		case t.id > 0:
			rep.NotRunning = append(rep.NotRunning, t.id)
		}
	}
	if len(failed) > 0 {
		return failure(kindOther, "could not stop every server of the ensemble in %s (%s); its state is kept", dir, strings.Join(failed, "; "))
	}

	// Remove what up made, then the directory if nothing else is in it:
	// --dir may name a directory that holds more than the ensemble.
	var serverDirs []string
	if st != nil {
		for _, m := range st.Members {
			serverDirs = append(serverDirs, filepath.Join(abs, "server"+strconv.Itoa(m.ID)))
		}
	}
	cfgs, _ := filepath.Glob(filepath.Join(abs, "server*", "zoo.cfg"))
	for _, c := range cfgs {
		serverDirs = append(serverDirs, filepath.Dir(c))
	}
	for _, t := range targets {
		if t.config != "" && filepath.Dir(filepath.Dir(t.config)) == abs {
			serverDirs = append(serverDirs, filepath.Dir(t.config))
		}
	}
	var rmErrs []string
	for _, d := range serverDirs {
		if err := os.RemoveAll(d); err != nil {
			rmErrs = append(rmErrs, err.Error())
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(abs, ensembleStateFile+".*"))
	for _, f := range append(tmps, filepath.Join(abs, ensembleStateFile), filepath.Join(abs, ensembleLockFile)) {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			rmErrs = append(rmErrs, err.Error())
		}
	}
	if len(rmErrs) > 0 {
		return failure(kindOther, "stopped the ensemble in %s, but could not remove its files: %s", dir, strings.Join(rmErrs, "; "))
	}
	if err := os.Remove(abs); err == nil || errors.Is(err, fs.ErrNotExist) {
		rep.Removed = true
	} else {
		rep.Left = "it holds files zkcoord ensemble up did not make"
	}

	switch n := len(rep.Stopped); {
	case n > 0:
		forced := ""
		if len(rep.Forced) > 0 {
			forced = fmt.Sprintf(" (%s %s needed SIGKILL)", pluralize(len(rep.Forced), "pid", "pids"), joinInts(rep.Forced))
		}
		say("stopped %d ZooKeeper %s (%s %s)%s\n", n, pluralize(n, "server", "servers"), pluralize(n, "pid", "pids"), joinInts(rep.Stopped), forced)
	case stateErr != nil:
		say("%s was damaged, and no server started from %s was found running\n", filepath.Join(dir, ensembleStateFile), dir)
	default:
		say("no server of the ensemble in %s was running\n", dir)
	}
	if rep.Removed {
		say("removed %s\n", dir)
	} else {
		say("removed the ensemble's files from %s, and left the directory: %s\n", dir, rep.Left)
	}
	return done()
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinInts(xs []int) string { return strings.Join(intStrings(xs), ", ") }

func intStrings(xs []int) []string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return s
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
