package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// claimScript claims the marker file $1 with O_EXCL (the shell's noclobber)
// while zkcoord holds the lock, after checking the token is there: exit 3
// if another holder has it.
const claimScript = `[ -n "$ZKCOORD_FENCING_TOKEN" ] && [ -n "$ZKCOORD_LOCK_PATH" ] || exit 4
set -C
: > "$1" || exit 3
rm "$1"`

// Two loops of `zkcoord lock` over a program that claims a marker file
// with O_EXCL, 100 runs each, at once: no run ever finds the marker taken.
func TestLockTakesTurns(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	marker := filepath.Join(t.TempDir(), "marker")
	const rounds = 100
	var wg sync.WaitGroup
	fails := make(chan string, 2*rounds)
	for loop := range 2 {
		wg.Go(func() {
			for i := range rounds {
				code, out := runZkcoord(t, c.Servers(), "lock", "--identity", fmt.Sprintf("loop%d-%d", loop, i), dir,
					"--", "sh", "-c", claimScript, "claim", marker)
				if code != 0 {
					fails <- fmt.Sprintf("loop %d, run %d: exit %d\n%s", loop, i, code, out)
				}
			}
		})
	}
	wg.Wait()
	close(fails)
	for f := range fails {
		t.Error(f)
	}
}

// kill -9 of a zkcoord that holds the lock: its program dies with it, and
// the next zkcoord gets the lock once the session is over, with a higher
// token. SIGTERM to that one stops its program and is its exit status.
func TestLockHolderKilled(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	tmp := t.TempDir()
	fileA, fileB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	// A short session, so that the test is quick, yet long enough for a
	// loaded machine's zkcoord to keep it while it runs.
	a := startZkcoord(t, c.Servers(), append([]string{"lock", "--session-timeout", "4s", dir, "--"}, helperArgs(t, "hold", fileA)...)...)
	ha := awaitHolder(t, fileA, 30*time.Second, a)
	b := startZkcoord(t, c.Servers(), append([]string{"lock", dir, "--"}, helperArgs(t, "hold", fileB)...)...)
	queued(t, manager(t, c.Servers(), "observer"), dir, 2, recipes.MutexMarkers()...)
	if _, err := os.Stat(fileB); err == nil {
		t.Fatal("the second zkcoord ran its program while the first held the lock")
	}

	syscall.Kill(a.cmd.Process.Pid, syscall.SIGKILL)
	if code := a.wait(10 * time.Second); code != 128+int(syscall.SIGKILL) {
		t.Errorf("killed zkcoord: status %d", code)
	}
	eventually(t, 10*time.Second, "the killed zkcoord's program to die with it", func() bool { return gone(ha.pid) })
	hb := awaitHolder(t, fileB, 30*time.Second, b)
	if hb.token <= ha.token {
		t.Errorf("tokens %d, then %d: not increasing", ha.token, hb.token)
	}

	b.cmd.Process.Signal(syscall.SIGTERM)
	if code := b.wait(30 * time.Second); code != 128+int(syscall.SIGTERM) {
		t.Errorf("zkcoord given SIGTERM: status %d, want its program's, 143\n%s", code, b.out.String())
	}
	if !gone(hb.pid) {
		t.Errorf("program %d runs on after zkcoord exited", hb.pid)
	}
}

// Ctrl-C to a zkcoord that holds the lock goes to its program; once the
// program is gone the lock is released, and the next waiter gets it well
// before the 10s session could have expired.
func TestLockInterrupt(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	tmp := t.TempDir()
	fileA, fileB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	a := startZkcoord(t, c.Servers(), append([]string{"lock", "--session-timeout", "10s", dir, "--"}, helperArgs(t, "hold", fileA)...)...)
	ha := awaitHolder(t, fileA, 30*time.Second, a)
	b := startZkcoord(t, c.Servers(), append([]string{"lock", dir, "--"}, helperArgs(t, "hold", fileB)...)...)
	observer := manager(t, c.Servers(), "observer")
	queued(t, observer, dir, 2, recipes.MutexMarkers()...)

	// Ctrl-C to one that waits: it gives up its place, and runs nothing.
	fileC := filepath.Join(tmp, "c")
	cz := startZkcoord(t, c.Servers(), append([]string{"lock", dir, "--"}, helperArgs(t, "hold", fileC)...)...)
	queued(t, observer, dir, 3, recipes.MutexMarkers()...)
	cz.cmd.Process.Signal(syscall.SIGINT)
	if code := cz.wait(30 * time.Second); code != 128+int(syscall.SIGINT) || !strings.Contains(cz.out.String(), "interrupted") {
		t.Errorf("waiting zkcoord given SIGINT: status %d\n%s", code, cz.out.String())
	}
	queued(t, observer, dir, 2, recipes.MutexMarkers()...)
	if _, err := os.Stat(fileC); err == nil {
		t.Error("the interrupted zkcoord ran its program")
	}

	a.cmd.Process.Signal(syscall.SIGINT)
	// The session would keep the lock for 10s after a crash: half of that
	// is ample for a release, and far short of an expiry.
	hb := awaitHolder(t, fileB, 5*time.Second, b)
	if code := a.wait(10 * time.Second); code != 128+int(syscall.SIGINT) {
		t.Errorf("zkcoord given SIGINT: status %d, want its program's, 130\n%s", code, a.out.String())
	}
	if !gone(ha.pid) {
		t.Errorf("program %d runs on", ha.pid)
	}
	if hb.token <= ha.token {
		t.Errorf("tokens %d, then %d", ha.token, hb.token)
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.wait(30 * time.Second)
}

// A holder stopped (SIGSTOP, zkcoord and its program) past its session:
// the next holder gets the lock and writes to the fence; on SIGCONT the
// first program gets SIGTERM at once, and every write it makes with its
// token from then on is refused by the fence. zkcoord exits 76, lost.
func TestLockPausedHolderFenced(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	tmp := t.TempDir()
	db := filepath.Join(tmp, "fence.db")
	logA, logB := filepath.Join(tmp, "a.log"), filepath.Join(tmp, "b.log")
	fileA, fileB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	const session = 4 * time.Second // see TestLockHolderKilled
	a := startZkcoord(t, c.Servers(), append([]string{"lock", "--session-timeout", session.String(), dir, "--"}, helperArgs(t, "fence", db, logA, fileA)...)...)
	ha := awaitHolder(t, fileA, 30*time.Second, a)
	eventually(t, 30*time.Second, "the first holder to write", func() bool { return slices.Contains(logLines(t, logA), fmt.Sprintf("accepted %d", ha.token)) })
	b := startZkcoord(t, c.Servers(), append([]string{"lock", dir, "--"}, helperArgs(t, "fence", db, logB, fileB)...)...)
	queued(t, manager(t, c.Servers(), "observer"), dir, 2, recipes.MutexMarkers()...)

	syscall.Kill(a.cmd.Process.Pid, syscall.SIGSTOP)
	syscall.Kill(-ha.pid, syscall.SIGSTOP)
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(a.cmd.Process.Pid, syscall.SIGCONT)
			syscall.Kill(-ha.pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	hb := awaitHolder(t, fileB, 30*time.Second, b)
	eventually(t, 30*time.Second, "the next holder to write", func() bool { return slices.Contains(logLines(t, logB), fmt.Sprintf("accepted %d", hb.token)) })
	if hb.token <= ha.token {
		t.Fatalf("tokens %d, then %d", ha.token, hb.token)
	}
	before := len(logLines(t, logA))

	begin := time.Now()
	resume()
	sigterm := fmt.Sprintf("sigterm %d", ha.token)
	eventually(t, 30*time.Second, "the paused holder's program to get SIGTERM", func() bool { return slices.Contains(logLines(t, logA), sigterm) })
	took := time.Since(begin)
	if code := a.wait(30 * time.Second); code != exitLost {
		t.Errorf("paused zkcoord: status %d, want %d (lost)\n%s", code, exitLost, a.out.String())
	}
	after := logLines(t, logA)[before:]
	t.Logf("SIGTERM %v after SIGCONT; the paused holder's writes after it: %q", took.Round(time.Millisecond), after)
	// Signalled on waking: not a session timeout later, as a client that
	// waited to hear of its expiry from the server would be.
	if took > session {
		t.Errorf("SIGTERM came %v after SIGCONT, not at once", took)
	}
	attempts := 0
	for _, l := range after {
		switch l {
		case sigterm:
		case fmt.Sprintf("refused %d", ha.token):
			attempts++
		default:
			t.Errorf("after the pause, the fence took %q", l)
		}
	}
	if attempts == 0 {
		t.Errorf("the paused holder made no write after it woke: %q", after)
	}
	if !strings.Contains(a.out.String(), "lost") {
		t.Errorf("zkcoord did not say the lock was lost:\n%s", a.out.String())
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	if code := b.wait(30 * time.Second); code != 0 {
		t.Errorf("second zkcoord: status %d\n%s", code, b.out.String())
	}
}

// A lock lost while its program runs (here an operator deletes the node)
// and a program that ignores SIGTERM: SIGKILL after --grace, exit 76.
func TestLockLostStubbornProgram(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	file := filepath.Join(t.TempDir(), "a")
	a := startZkcoord(t, c.Servers(), append([]string{"lock", "--grace", "500ms", dir, "--"}, helperArgs(t, "stubborn", file)...)...)
	h := awaitHolder(t, file, 30*time.Second, a)

	m := manager(t, c.Servers(), "operator")
	ctx := within(t, 30*time.Second)
	ep, err := m.Epoch(ctx)
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
	if code := a.wait(30 * time.Second); code != exitLost {
		t.Errorf("status %d, want %d (lost)\n%s", code, exitLost, a.out.String())
	}
	out := a.out.String()
	if !strings.Contains(out, "sending SIGTERM") || !strings.Contains(out, fmt.Sprintf("(status %d)", 128+int(syscall.SIGKILL))) {
		t.Errorf("zkcoord did not say it stopped the program with SIGKILL:\n%s", out)
	}
	if !gone(h.pid) {
		t.Errorf("program %d runs on", h.pid)
	}
}
