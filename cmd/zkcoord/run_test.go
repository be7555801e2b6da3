package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/zktest"
)

// Bad input to the run commands: the usage status (or the shell's 127 and
// 126), one clear line, no stack trace, and nothing contacted: no ensemble
// is configured, so any attempt to connect would exit 69 instead.
func TestRunUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"lock", "/a", "true"}, exitUsage, "missing -- before the command"},
		{[]string{"lock", "/a"}, exitUsage, "missing -- before the command"},
		{[]string{"lock"}, exitUsage, "missing arguments: zkcoord lock needs a path"},
		{[]string{"lock", "/a", "--"}, exitUsage, "empty command after --"},
		{[]string{"lock", "/a", "--", ""}, exitUsage, "empty command after --"},
		{[]string{"lock", "--", "true"}, exitUsage, "missing path before --"},
		{[]string{"lock", "/a", "/b", "--", "true"}, exitUsage, "takes one path before --, got 2"},
		{[]string{"lock", "a/b", "--", "true"}, exitUsage, `invalid path "a/b": not absolute`},
		{[]string{"lock", "/a/", "--", "true"}, exitUsage, `invalid path "/a/": trailing /`},
		{[]string{"lock", "--grace", "-1s", "/a", "--", "true"}, exitUsage, "--grace must not be negative"},
		{[]string{"lock", "--session-timeout", "0s", "/a", "--", "true"}, exitUsage, "--session-timeout must be positive"},
		{[]string{"lock", "--bogus", "/a", "--", "true"}, exitUsage, "unknown flag: --bogus"},
		{[]string{"lock", "/a", "--", "zkcoord-no-such-program"}, exitNotFound, "zkcoord-no-such-program: command not found"},
		{[]string{"lock", "/a", "--", "./zkcoord-no-such-program"}, exitNotFound, "./zkcoord-no-such-program: command not found"},
		{[]string{"lock", "/a", "--", os.TempDir()}, exitNotExecutable, "cannot run it"},
		{[]string{"semaphore", "run", "/a", "--limit", "0", "--", "true"}, exitUsage, "--limit must be at least 1, not 0"},
		{[]string{"semaphore", "run", "/a", "--", "true"}, exitUsage, "missing --limit"},
		{[]string{"semaphore", "run", "/a", "--limit", "2", "--permits", "3", "--", "true"}, exitUsage, "--permits must be between 1 and --limit (2), not 3"},
		{[]string{"semaphore", "run", "/a", "--limit", "2"}, exitUsage, "missing -- before the command"},
		{[]string{"semaphore", "run", "/a", "--limit", "2", "--", "zkcoord-no-such-program"}, exitNotFound, "command not found"},
		{[]string{"elect", "/a", "--value", "v", "--"}, exitUsage, "empty command after --"},
		{[]string{"elect", "/a", "--", "zkcoord-no-such-program"}, exitNotFound, "command not found"},
		{[]string{"elect", "/a//b", "--", "true"}, exitUsage, `invalid path "/a//b"`},
	} {
		r := zkcoord(t, nil, tc.args...)
		switch {
		case r.code != tc.code || !strings.Contains(r.stderr, tc.want):
			t.Errorf("zkcoord %q: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		case strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic"):
			t.Errorf("zkcoord %q: a stack trace:\n%s", tc.args, r.stderr)
		case r.stdout != "":
			t.Errorf("zkcoord %q: stdout %q", tc.args, r.stdout)
		}
		if lines := strings.Count(r.stderr, "\n"); tc.code == exitUsage && lines != 2 || tc.code != exitUsage && lines != 1 {
			t.Errorf("zkcoord %q: %d lines on stderr:\n%s", tc.args, lines, r.stderr)
		}
	}
	// An ensemble that cannot be reached has a status of its own.
	r := zkcoord(t, nil, "--servers", closedPort(t), "lock", "/a", "--", "true")
	if r.code != exitUnavailable || !strings.Contains(r.stderr, "cannot reach ZooKeeper") {
		t.Errorf("unreachable: exit %d, %q", r.code, r.stderr)
	}
}

// The program's status is zkcoord's, it sees its token and path, and the
// lock is released after it; --try and --timeout give up with 75 when the
// lock is held, running nothing.
func TestLockStatusAndGivingUp(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	servers := strings.Join(c.Servers(), ",")
	r := zkcoord(t, nil, "--servers", servers, "lock", dir, "--", "sh", "-c", `echo "$ZKCOORD_FENCING_TOKEN $ZKCOORD_LOCK_PATH"; exit 7`)
	if r.code != 7 {
		t.Fatalf("exit %d, want the program's 7\n%s", r.code, r.stderr)
	}
	var token int64
	var path string
	if _, err := fmt.Sscanf(r.stdout, "%d %s", &token, &path); err != nil || token <= 0 || path != dir {
		t.Errorf("the program saw %q", r.stdout)
	}
	r = zkcoord(t, nil, "--servers", servers, "lock", dir, "--", "sh", "-c", `echo "$ZKCOORD_FENCING_TOKEN"; kill -TERM $$`)
	if r.code != 128+int(syscall.SIGTERM) {
		t.Errorf("a program killed by SIGTERM: exit %d, want 143", r.code)
	}
	if next, _ := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64); next <= token {
		t.Errorf("second token %q, after %d: the lock was not released and taken again", r.stdout, token)
	}

	m := manager(t, c.Servers(), "holder")
	mu, _ := mutex.New(m, dir)
	l, err := mu.Lock(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	for _, args := range [][]string{
		{"lock", "--try", dir, "--", "touch", marker},
		{"lock", "--timeout", "300ms", dir, "--", "touch", marker},
	} {
		r := zkcoord(t, nil, append([]string{"--servers", servers}, args...)...)
		if r.code != exitNotAcquired || !strings.Contains(r.stderr, "nothing was run") {
			t.Errorf("%q: exit %d, %q; want %d", args, r.code, r.stderr, exitNotAcquired)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the program ran without the lock")
	}
	// Given up, they left nothing in the queue.
	q, _ := recipes.NewQueue(m, dir, nil, recipes.MutexMarkers()...)
	if ps, err := q.Participants(within(t, 30*time.Second)); err != nil || len(ps) != 1 {
		t.Errorf("queue %v, %v; want the holder alone", ps, err)
	}
	l.Unlock(context.Background())
}

// 20 `zkcoord semaphore run --limit 3` at once: never more than 3 programs
// run together, and all of them run.
func TestSemaphoreRunLimit(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	holders := t.TempDir()
	const n, limit = 20, 3
	servers := strings.Join(c.Servers(), ",")

	// The inspection command is still there, as the default and as status.
	m := manager(t, c.Servers(), "holder")
	sem, _ := semaphore.New(m, dir, limit)
	l, err := sem.Acquire(within(t, 30*time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"semaphore", dir}, {"semaphore", "status", dir}} {
		if r := inspect(t, c.Servers(), args...); !strings.Contains(r.stdout, "limit 3, 1 lease held") {
			t.Errorf("%q:\n%s", args, r.stdout)
		}
	}
	// A different limit is a usage error.
	if r := zkcoord(t, nil, "--servers", servers, "semaphore", "run", dir, "--limit", "5", "--", "true"); r.code != exitUsage || !strings.Contains(r.stderr, "limit") {
		t.Errorf("--limit 5 on a semaphore of 3: exit %d, %q", r.code, r.stderr)
	}
	l.Release(context.Background())

	var wg sync.WaitGroup
	fails := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			code, out := runZkcoord(t, c.Servers(), append([]string{"semaphore", "run", "--identity", fmt.Sprint("w", i), dir, "--limit", strconv.Itoa(limit), "--"},
				helperArgs(t, "permit", holders, strconv.Itoa(limit))...)...)
			if code != 0 {
				fails <- fmt.Sprintf("worker %d: exit %d\n%s", i, code, out)
			}
		})
	}
	wg.Wait()
	close(fails)
	for f := range fails {
		t.Error(f)
	}
}

// kill -9 of the leader's zkcoord elect: its program dies, the other
// candidate's program starts and its value is the leader's.
func TestElectFailover(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	tmp := t.TempDir()
	fileA, fileB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	a := startZkcoord(t, c.Servers(), append([]string{"elect", "--session-timeout", "4s", "--value", "host-a:80", dir, "--"}, helperArgs(t, "hold", fileA)...)...)
	ha := awaitHolder(t, fileA, 30*time.Second, a)
	b := startZkcoord(t, c.Servers(), append([]string{"elect", "--value", "host-b:80", dir, "--"}, helperArgs(t, "hold", fileB)...)...)
	queued(t, manager(t, c.Servers(), "observer"), dir, 2, recipes.LatchMarkers()...)
	leaderValue := func() string {
		r := decode[electionReport](t, inspect(t, c.Servers(), "--json", "leader", dir))
		if r.Leader == nil || r.Leader.Value == nil {
			return ""
		}
		return *r.Leader.Value
	}
	eventually(t, 10*time.Second, "the leader's value", func() bool { return leaderValue() == "host-a:80" })

	syscall.Kill(a.cmd.Process.Pid, syscall.SIGKILL)
	eventually(t, 10*time.Second, "the deposed leader's program to die", func() bool { return gone(ha.pid) })
	hb := awaitHolder(t, fileB, 30*time.Second, b)
	if hb.token <= ha.token {
		t.Errorf("tokens %d, then %d", ha.token, hb.token)
	}
	eventually(t, 10*time.Second, "the new leader's value", func() bool { return leaderValue() == "host-b:80" })
	b.cmd.Process.Signal(syscall.SIGTERM)
	if code := b.wait(30 * time.Second); code != 128+int(syscall.SIGTERM) {
		t.Errorf("leader given SIGTERM: status %d\n%s", code, b.out.String())
	}
}

// Leadership lost while the program runs (an operator deletes the
// candidate's node): the program is stopped, and elect campaigns again and
// starts it anew with a higher token; with --once, it exits 76 instead.
func TestElectAfterLoss(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	tmp := t.TempDir()
	operator := manager(t, c.Servers(), "operator")
	depose := func(dir string) {
		ctx := within(t, 30*time.Second)
		ep, err := operator.Epoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		children, _, err := ep.Children(ctx, dir)
		if err != nil || len(children) != 1 {
			t.Fatalf("children of %s: %v, %v", dir, children, err)
		}
		if err := ep.Delete(ctx, dir+"/"+children[0], -1); err != nil {
			t.Fatal(err)
		}
	}

	file := filepath.Join(tmp, "a")
	a := startZkcoord(t, c.Servers(), append([]string{"elect", dir + "/again", "--"}, helperArgs(t, "hold", file)...)...)
	first := awaitHolder(t, file, 30*time.Second, a)
	depose(dir + "/again")
	eventually(t, 30*time.Second, "the program to start again in a new term", func() bool {
		h := awaitHolder(t, file, 30*time.Second, a)
		return h.pid != first.pid
	})
	second := awaitHolder(t, file, time.Second, a)
	if second.token <= first.token || !gone(first.pid) {
		t.Errorf("first term %+v (gone: %v), second %+v", first, gone(first.pid), second)
	}
	if !strings.Contains(a.out.String(), "campaigning again") {
		t.Errorf("output:\n%s", a.out.String())
	}

	once := filepath.Join(tmp, "once")
	b := startZkcoord(t, c.Servers(), append([]string{"elect", "--once", dir + "/once", "--"}, helperArgs(t, "hold", once)...)...)
	h := awaitHolder(t, once, 30*time.Second, b)
	depose(dir + "/once")
	if code := b.wait(30 * time.Second); code != exitLost || !gone(h.pid) {
		t.Errorf("--once: status %d, program gone %v\n%s", code, gone(h.pid), b.out.String())
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	a.wait(30 * time.Second)
}
