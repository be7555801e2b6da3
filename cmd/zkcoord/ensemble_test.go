//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/ports"
	"github.com/zkcoord/zkcoord/zktest"
)

// asCommand, set in the environment, makes the test binary run as the
// zkcoord command itself: the detached test needs a command that exits
// while its servers run on.
const asCommand = "ZKCOORD_TEST_RUN_AS_COMMAND"

func init() {
	if os.Getenv(asCommand) == "1" {
		main() // exits
	}
	// Servers started by the in-process tests die with the test binary,
	// even one killed on -timeout before its cleanups run.
	ensembleDieWithParent = true
}

// upWait bounds `ensemble up` in the tests, below zkcoord's own minute so
// that a slow start fails with up's message, not an interruption.
const upWait = "45s"

// ens runs `zkcoord ensemble args... --dir dir` in-process, with an empty
// environment.
func ens(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return zkcoord(t, map[string]string{}, append(append([]string{"ensemble"}, args...), "--dir", dir)...)
}

func (st *localEnsemble) pids() []int {
	out := make([]int, len(st.Members))
	for i, m := range st.Members {
		out[i] = m.PID
	}
	return out
}

func mustState(t *testing.T, dir string) *localEnsemble {
	t.Helper()
	st, err := readLocalEnsemble(dir)
	if err != nil || st == nil {
		t.Fatalf("reading the state in %s: %v, %v", dir, st, err)
	}
	return st
}

// upEnsemble starts an ensemble of nodes servers in a fresh directory with
// `ensemble up`. Whatever happens to the test, its cleanup runs `ensemble
// down`, checks that no server is left, and kills any that is.
func upEnsemble(t *testing.T, nodes int) (dir string, r result) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "ensemble")
	t.Cleanup(func() { downForGood(t, dir) })
	r = ens(t, dir, "up", "--nodes", strconv.Itoa(nodes), "--wait", upWait)
	if r.code != 0 {
		t.Fatalf("ensemble up --nodes %d: exit %d\nstdout:\n%s\nstderr:\n%s", nodes, r.code, r.stdout, r.stderr)
	}
	return dir, r
}

// downForGood is every ensemble test's last word: down, then make sure.
func downForGood(t *testing.T, dir string) {
	st, _ := readLocalEnsemble(dir)
	if t.Failed() {
		logTails(t, dir)
	}
	found := zktest.FindDetached(dir)
	r := ens(t, dir, "down")
	if r.code != 0 {
		t.Errorf("ensemble down in cleanup: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var pids []int
	var configs []string
	if st != nil {
		for _, m := range st.Members {
			pids, configs = append(pids, m.PID), append(configs, m.Config)
		}
	}
	for cfg, pid := range found {
		pids, configs = append(pids, pid), append(configs, cfg)
	}
	for i, pid := range pids {
		if zktest.DetachedRunning(pid, configs[i]) {
			t.Errorf("server process %d survived `ensemble down`; killing it", pid)
			zktest.StopDetached(pid, configs[i], 0)
		}
	}
}

// groupAndSession reads a process's group and session from /proc.
func groupAndSession(pid int) (pgrp, sid int, err error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// pid (comm) state ppid pgrp session ...
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 4 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %q", pid, stat)
	}
	pgrp, _ = strconv.Atoi(f[2])
	sid, _ = strconv.Atoi(f[3])
	return pgrp, sid, nil
}

func logTails(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "server*", "*.log"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if len(data) > 4<<10 {
			data = data[len(data)-4<<10:]
		}
		t.Logf("==> %s <==\n%s", f, data)
	}
}

func flw(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s to %s: %v", cmd, addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		t.Fatalf("%s to %s: %v", cmd, addr, err)
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// allServing waits until `ensemble status` says every server serves.
func allServing(t *testing.T, dir string, n int) {
	t.Helper()
	want := fmt.Sprintf("%d of %d servers serving", n, n)
	var last result
	eventually(t, 30*time.Second, "ensemble status: "+want, func() bool {
		last = zkcoord(t, map[string]string{}, "ensemble", "status", "--dir", dir)
		return last.code == 0 && strings.Contains(last.stdout, want)
	})
}

// The whole life of a local ensemble, standalone and of three: up, status,
// a client, up again, a server killed and brought back with its data,
// down, down again.
func TestEnsembleLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper servers")
	}
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("nodes=%d", nodes), func(t *testing.T) {
			t.Parallel()
			lifecycle(t, nodes)
		})
	}
}

func lifecycle(t *testing.T, nodes int) {
	dir, r := upEnsemble(t, nodes)
	st := mustState(t, dir)
	servers := strings.Join(st.Servers, ",")
	if !strings.Contains(r.stdout, fmt.Sprintf("started %d ZooKeeper ", nodes)) ||
		!strings.Contains(r.stdout, "servers: "+servers+"\n") || !strings.Contains(r.stdout, "export ZK_SERVERS="+servers+"\n") {
		t.Errorf("up said:\n%s", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("up warned: %s", r.stderr)
	}
	checkStockDiffs(t, st.Members[0], r.stdout)
	// What the other commands read is what up recorded.
	if rec, err := loadEnsembleState(dir); err != nil || !slices.Equal(rec.Servers, st.Servers) {
		t.Errorf("recorded servers %v (%v), state %v", rec, err, st.Servers)
	}
	if len(st.Members) != nodes || len(st.Servers) != nodes {
		t.Fatalf("%d members, %d servers recorded for %d nodes", len(st.Members), len(st.Servers), nodes)
	}
	ports := map[int]bool{}
	for _, m := range st.Members {
		if !zktest.DetachedRunning(m.PID, m.Config) {
			t.Errorf("server %d: pid %d is not running", m.ID, m.PID)
		}
		// Detached: a session, and a process group, of its own.
		if pgrp, sid, err := groupAndSession(m.PID); err != nil || pgrp != m.PID || sid != m.PID {
			t.Errorf("server %d (pid %d): process group %d, session %d (%v), want its own", m.ID, m.PID, pgrp, sid, err)
		}
		for _, p := range []int{m.ClientPort, m.QuorumPort, m.ElectionPort} {
			ports[p] = true
		}
		if !strings.HasPrefix(m.DataDir, dir) || !strings.HasPrefix(m.Config, dir) {
			t.Errorf("server %d lives outside %s: %+v", m.ID, dir, m)
		}
		cfg, err := os.ReadFile(m.Config)
		if err != nil || !strings.Contains(string(cfg), "tickTime=2000\n") {
			t.Errorf("server %d's config (%v):\n%s", m.ID, err, cfg)
		}
		for _, word := range []string{"srvr", "ruok", "cons", "wchc", "mntr"} {
			if out := flw(t, m.Address, word); out == "" || strings.Contains(out, "not in the whitelist") {
				t.Errorf("server %d answers %s with %q", m.ID, word, out)
			}
		}
	}
	if len(ports) != 3*nodes {
		t.Errorf("ports %v are not %d distinct ones", ports, 3*nodes)
	}

	r = zkcoord(t, map[string]string{}, "ensemble", "status", "--dir", dir, "--json")
	rep := decode[ensembleReport](t, r)
	if r.code != 0 || !rep.Quorum || rep.Serving != nodes {
		t.Errorf("status: exit %d, %+v", r.code, rep)
	}

	// A client finds the ensemble through what up recorded, and writes.
	const path, data = "/ensemble-test", "written before the crash"
	m := manager(t, st.Servers, "ensemble-test")
	ctx := within(t, 30*time.Second)
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ep.Create(ctx, path, []byte(data), zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := ep.Get(ctx, path); err != nil || string(got) != data {
		t.Fatalf("read back %q, %v", got, err)
	}
	m.Close()

	// Up again: nothing to do.
	r = ens(t, dir, "up", "--wait", upWait)
	if r.code != 0 || !strings.Contains(r.stdout, "already running in "+dir) || !strings.Contains(r.stdout, "export ZK_SERVERS="+servers) {
		t.Errorf("second up: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if again := mustState(t, dir); !slices.Equal(again.pids(), st.pids()) {
		t.Errorf("second up changed the pids: %v, then %v", st.pids(), again.pids())
	}

	// A server crashes; up brings it back, on its ports, with its data.
	victim := st.Members[nodes/2]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "killed server gone", func() bool { return !zktest.DetachedRunning(victim.PID, victim.Config) })
	r = ens(t, dir, "up", "--wait", upWait)
	want := fmt.Sprintf("restarted server %d in %s with its data (pid %d was gone)", victim.ID, dir, victim.PID)
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("up after a crash: exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	after := mustState(t, dir)
	for i, a := range after.Members {
		b := st.Members[i]
		if a.ClientPort != b.ClientPort || a.QuorumPort != b.QuorumPort || a.ElectionPort != b.ElectionPort {
			t.Errorf("server %d moved: %+v, then %+v", a.ID, b, a)
		}
		if changed := a.PID != b.PID; changed != (a.ID == victim.ID) || !zktest.DetachedRunning(a.PID, a.Config) {
			t.Errorf("server %d: pid %d, then %d (running: %v)", a.ID, b.PID, a.PID, zktest.DetachedRunning(a.PID, a.Config))
		}
	}
	allServing(t, dir, nodes)
	m = manager(t, after.Servers, "ensemble-test-after")
	ctx = within(t, 30*time.Second)
	ep, err = m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Sync(ctx, path); err != nil {
		t.Fatal(err)
	}
	if got, _, err := ep.Get(ctx, path); err != nil || string(got) != data {
		t.Errorf("after the restart, %s holds %q (%v), want %q", path, got, err, data)
	}
	m.Close()

	// Down stops every server, closes their ports, removes the directory.
	r = ens(t, dir, "down")
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("stopped %d ZooKeeper ", nodes)) || !strings.Contains(r.stdout, "removed "+dir) {
		t.Errorf("down: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, m := range after.Members {
		if zktest.DetachedRunning(m.PID, m.Config) {
			t.Errorf("server %d (pid %d) runs after down", m.ID, m.PID)
		}
		if c, err := net.DialTimeout("tcp", m.Address, 5*time.Second); err == nil {
			c.Close()
			t.Errorf("server %d's port %s still accepts connections", m.ID, m.Address)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there after down: %v", dir, err)
	}
	r = ens(t, dir, "down")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to stop") {
		t.Errorf("second down: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = zkcoord(t, map[string]string{}, "ensemble", "status", "--dir", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "start a local one with `zkcoord ensemble up`") {
		t.Errorf("status after down: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Two `up` at once start one ensemble; --json says what each did.
func TestEnsembleConcurrentUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a ZooKeeper server")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ensemble")
	t.Cleanup(func() { downForGood(t, dir) })
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = zkcoord(t, map[string]string{}, "--json", "ensemble", "up", "--nodes", "1", "--wait", upWait, "--dir", dir)
		}()
	}
	wg.Wait()
	var actions []string
	for _, r := range results {
		rep := decode[upReport](t, r)
		if r.code != 0 || len(rep.Members) != 1 || len(rep.Servers) != 1 || rep.Members[0].PID <= 0 {
			t.Fatalf("up: exit %d, %+v, stderr %q", r.code, rep, r.stderr)
		}
		actions = append(actions, rep.Action)
	}
	slices.Sort(actions)
	if !slices.Equal(actions, []string{"already_running", "started"}) {
		t.Errorf("the two ups did %q", actions)
	}
	if found := zktest.FindDetached(dir); len(found) != 1 {
		t.Errorf("%d servers run from %s: %v", len(found), dir, found)
	}
	r := zkcoord(t, map[string]string{}, "--json", "ensemble", "down", "--dir", dir)
	rep := decode[downReport](t, r)
	if r.code != 0 || len(rep.Stopped) != 1 || !rep.Removed {
		t.Errorf("down: exit %d, %+v, stderr %q", r.code, rep, r.stderr)
	}
}

// The command itself, run as its own process, exits while its servers run
// on, and finds its directory through $ZKCOORD_ENSEMBLE_DIR.
func TestEnsembleDetached(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a ZooKeeper server")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ensemble")
	t.Cleanup(func() { downForGood(t, dir) })
	command := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], args...)
		cmd.Env = append(os.Environ(), asCommand+"=1", "ZKCOORD_ENSEMBLE_DIR="+dir, "ZK_SERVERS=")
		// A server holding the command's output open would keep a pipe
		// like `zkcoord ensemble up | tee` from ending: bounded here.
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := command("ensemble", "up", "--nodes", "1", "--wait", upWait)
	if err != nil {
		t.Fatalf("ensemble up: %v\n%s", err, out)
	}
	st := mustState(t, dir)
	if !strings.Contains(out, "started 1 ZooKeeper server in "+dir) || !strings.Contains(out, "export ZK_SERVERS="+st.Servers[0]) {
		t.Errorf("up said:\n%s", out)
	}
	s := st.Members[0]
	if !zktest.DetachedRunning(s.PID, s.Config) {
		t.Fatalf("server (pid %d) did not outlive the command", s.PID)
	}
	if out := flw(t, s.Address, "srvr"); !strings.Contains(out, "Mode: standalone") {
		t.Errorf("srvr after the command exited: %q", out)
	}
	// The server holds its ports' reservations itself, the command gone, so
	// that no test run can be given one while it lives (internal/ports).
	serverPorts := []int{s.ClientPort, s.QuorumPort, s.ElectionPort}
	for _, port := range serverPorts {
		if f, err := ports.Hold(port); err == nil {
			f.Close()
			t.Errorf("port %d could be reserved while the server that has it runs", port)
		}
	}
	out, err = command("ensemble", "up")
	if err != nil || !strings.Contains(out, "already running in "+dir) {
		t.Errorf("second up: %v\n%s", err, out)
	}
	out, err = command("ensemble", "down")
	if err != nil || !strings.Contains(out, "stopped 1 ZooKeeper server (pid "+strconv.Itoa(s.PID)+")") {
		t.Errorf("down: %v\n%s", err, out)
	}
	if zktest.DetachedRunning(s.PID, s.Config) {
		t.Errorf("server (pid %d) runs after down", s.PID)
	}
	for _, port := range serverPorts {
		f, err := ports.Hold(port)
		if err != nil {
			t.Errorf("port %d still reserved after down: %v", port, err)
			continue
		}
		f.Close()
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there after down: %v", dir, err)
	}
}

// Without ZooKeeper or java, up says how to get them, in one line.
func TestEnsembleNoZooKeeper(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ensemble")
	cmd := exec.Command(os.Args[0], "ensemble", "up", "--dir", dir)
	cmd.Env = []string{asCommand + "=1", "PATH=" + t.TempDir(), "ZOOKEEPER_HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.Count(string(out), "\n") != 1 ||
		!strings.Contains(string(out), "zkcoord: no ZooKeeper found") || !strings.Contains(string(out), "make install-zookeeper") {
		t.Errorf("up without ZooKeeper: %v\n%s", err, out)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("up without ZooKeeper left %s: %v", dir, err)
	}
}

// Bad flags are usage errors (exit 2) and touch nothing.
func TestEnsembleUsage(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ensemble")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "--nodes", "0"}, "--nodes must be between 1 and 9, not 0"},
		{[]string{"up", "--nodes", "10"}, "--nodes must be between 1 and 9, not 10"},
		{[]string{"up", "--nodes", "three"}, `invalid argument "three" for "--nodes"`},
		{[]string{"up", "--wait", "0s"}, "--wait must be positive"},
		{[]string{"up", "now"}, `unknown command "now"`},
		{[]string{"down", "--force"}, "unknown flag: --force"},
		{[]string{"down", "--dir", ""}, "--dir must not be empty"},
	} {
		args := append([]string{"ensemble"}, tc.args...)
		if !slices.Contains(args, "--dir") {
			args = append(args, "--dir", dir)
		}
		r := zkcoord(t, map[string]string{}, args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("ensemble %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a usage error made %s: %v", dir, err)
	}
}

// State up cannot use: a damaged file, or one up did not write. Down
// clears either, and leaves alone what is not the ensemble's.
func TestEnsembleForeignState(t *testing.T) {
	t.Parallel()
	write := func(dir, content string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ensembleStateFile), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	oneLine := func(r result) bool { return strings.Count(r.stderr, "\n") == 1 }

	damaged := filepath.Join(t.TempDir(), "damaged")
	write(damaged, "{")
	r := ens(t, damaged, "up", "--nodes", "1")
	if r.code != 1 || !oneLine(r) || !strings.Contains(r.stderr, "ensemble.json is damaged") || !strings.Contains(r.stderr, "`zkcoord ensemble down`") {
		t.Errorf("up on damaged state: exit %d, stderr %q", r.code, r.stderr)
	}
	r = ens(t, damaged, "down")
	if r.code != 0 || !strings.Contains(r.stdout, "was damaged, and no server started from") || !strings.Contains(r.stdout, "removed "+damaged) {
		t.Errorf("down on damaged state: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(damaged); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("down left %s: %v", damaged, err)
	}

	foreign := filepath.Join(t.TempDir(), "foreign")
	write(foreign, `{"servers": ["127.0.0.1:2181"]}`)
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = ens(t, foreign, "up")
	if r.code != 1 || !oneLine(r) || !strings.Contains(r.stderr, "not written by `zkcoord ensemble up`") {
		t.Errorf("up on foreign state: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(foreign, ensembleLockFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("up on foreign state left its lock file: %v", err)
	}
	r = ens(t, foreign, "down")
	if r.code != 0 || !strings.Contains(r.stdout, "left the directory") {
		t.Errorf("down on foreign state: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if data, err := os.ReadFile(filepath.Join(foreign, "notes.txt")); err != nil || string(data) != "mine" {
		t.Errorf("down removed a file it did not make: %q, %v", data, err)
	}

	// A directory with no ensemble in it is not down's to touch.
	r = ens(t, foreign, "down")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to stop") {
		t.Errorf("down without state: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(foreign, "notes.txt")); err != nil {
		t.Errorf("down without state touched the directory: %v", err)
	}
}
