package interop_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// step bounds how long any one thing a test waits for may take: an event
// from a driver, a state the queue should reach. Generous, for -race on two
// cores with a few JVMs; a test that passes never comes near it.
const step = 30 * time.Second

// A peer is one driver, a child process or zkcoord in process, seen as the
// lines it prints. Every driver speaks the protocol documented in
// testdata/java/CuratorDriver.java.
type peer struct {
	name    string // "go", "curator", "kazoo": what the test reports
	session int64  // the driver's ZooKeeper session

	deliver func(line string) error // hands the driver one command
	stop    func()                  // ends the driver; idempotent
	stderr  *tail                   // what a child process wrote there

	mu      sync.Mutex
	lines   []string      // printed, not yet expected
	changed chan struct{} // closed and replaced on every change
	exited  bool
	exitErr error
}

func newPeer(name string) *peer { return &peer{name: name, changed: make(chan struct{})} }

// post records a line the driver printed.
func (p *peer) post(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line)
	close(p.changed)
	p.changed = make(chan struct{})
}

// exit records that the driver is gone.
func (p *peer) exit(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exited, p.exitErr = true, err
	close(p.changed)
	p.changed = make(chan struct{})
}

// send hands the driver one command.
func (p *peer) send(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	if err := p.deliver(line); err != nil {
		t.Fatalf("%s: sending %q: %v%s", p.name, line, err, p.stderrTail())
	}
}

// expect waits for a line that is want or starts with want and a space,
// takes it and returns the rest of it. Any "error" line fails the test.
func (p *peer) expect(t testing.TB, want string) string {
	t.Helper()
	rest, err := p.await(want, step)
	if err != nil {
		t.Fatalf("%s: %v%s", p.name, err, p.stderrTail())
	}
	return rest
}

// await is expect that reports, rather than fails the test: an "error"
// line, the driver's exit, or d passing with no such line.
func (p *peer) await(want string, d time.Duration) (string, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i, l := range p.lines {
			if strings.HasPrefix(l, "error ") {
				p.mu.Unlock()
				return "", fmt.Errorf("%s (while waiting for %q)", l, want)
			}
			if l == want || strings.HasPrefix(l, want+" ") {
				p.lines = append(p.lines[:i:i], p.lines[i+1:]...)
				p.mu.Unlock()
				return strings.TrimPrefix(strings.TrimPrefix(l, want), " "), nil
			}
		}
		exited, exitErr, changed := p.exited, p.exitErr, p.changed
		p.mu.Unlock()
		if exited {
			return "", fmt.Errorf("exited (%v) while the test waited for %q", exitErr, want)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return "", fmt.Errorf("no %q within %v; unread: %q", want, d, p.unread())
		}
	}
}

// do sends a command and waits for its answer.
func (p *peer) do(t testing.TB, want string, format string, args ...any) string {
	t.Helper()
	p.send(t, format, args...)
	return p.expect(t, want)
}

// saw reports whether the driver has printed want (as expect matches it)
// and nobody has taken it yet.
func (p *peer) saw(want string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if l == want || strings.HasPrefix(l, want+" ") {
			return true
		}
	}
	return false
}

func (p *peer) unread() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func (p *peer) stderrTail() string {
	if p.stderr == nil {
		return ""
	}
	if s := p.stderr.String(); s != "" {
		return "\n" + p.name + " stderr:\n" + s
	}
	return ""
}

// Handle commands, as every driver takes them. Handles are named by the
// test; the name is also the nodes' data (the identity inspection reports)
// and what the critical section appends to the log.
func (p *peer) mutex(t testing.TB, h, path string) { p.do(t, "ok "+h, "mutex %s %s %s", h, path, h) }
func (p *peer) reader(t testing.TB, h, path string) {
	p.do(t, "ok "+h, "read %s %s %s", h, path, h)
}
func (p *peer) writer(t testing.TB, h, path string) {
	p.do(t, "ok "+h, "write %s %s %s", h, path, h)
}
func (p *peer) semaphore(t testing.TB, h, path string, max int) {
	p.do(t, "ok "+h, "sem %s %s %d %s", h, path, max, h)
}

// lock asks for the lock without waiting for it; locked waits for it.
func (p *peer) lock(t testing.TB, h string)   { p.send(t, "lock %s", h) }
func (p *peer) locked(t testing.TB, h string) { p.expect(t, "locked "+h) }
func (p *peer) unlock(t testing.TB, h string) { p.do(t, "unlocked "+h, "unlock %s", h) }

// once queues h for one acquisition that runs the critical section on cs
// and releases; onceDone waits for its result.
func (p *peer) once(t testing.TB, h, cs string) { p.send(t, "once %s %s", h, cs) }
func (p *peer) onceDone(t testing.TB, h string) {
	t.Helper()
	if r := p.expect(t, "once "+h); r != "ok" {
		t.Errorf("%s %s: %s", p.name, h, r)
	}
}

// loop starts n acquisitions in a row; loopDone waits for them and fails
// the test on any violation the critical section saw.
func (p *peer) loop(t testing.TB, h string, n int, cs string) { p.send(t, "loop %s %d %s", h, n, cs) }
func (p *peer) loopDone(t testing.TB, h string) {
	t.Helper()
	r := p.expect(t, "loop "+h)
	if n, rest, _ := strings.Cut(r, " "); n != "0" {
		t.Errorf("%s %s: %s violations of exclusion, the first: %s", p.name, h, n, rest)
	}
}

// startProcess runs a driver as a child process and waits for it to say it
// is connected. Closing its stdin makes it end its session and exit; it is
// killed if it has not within a few seconds. It is stopped when t ends.
func startProcess(t testing.TB, name string, cmd *exec.Cmd) *peer {
	t.Helper()
	p := newPeer(name)
	p.stderr = &tail{max: 16 << 10}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: starting %s: %v", name, cmd, err)
	}
	var inMu sync.Mutex
	p.deliver = func(line string) error {
		inMu.Lock()
		defer inMu.Unlock()
		_, err := io.WriteString(stdin, line+"\n")
		return err
	}
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.post(sc.Text())
		}
		// Wait closes stdout: read it to the end first.
		p.exit(cmd.Wait())
	}()
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			inMu.Lock()
			stdin.Close()
			inMu.Unlock()
			select {
			case <-waited:
			case <-time.After(10 * time.Second):
				t.Errorf("%s: still running 10s after its stdin closed: killed%s", name, p.stderrTail())
				cmd.Process.Kill()
				<-waited
			}
		})
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() && p.stderr.String() != "" {
			t.Logf("%s stderr:\n%s", name, p.stderr)
		}
	})
	hex := p.expect(t, "ready")
	id, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		t.Fatalf("%s: ready with session %q: %v", name, hex, err)
	}
	p.session = int64(id)
	return p
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tail) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(b), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// within is a context for one test's calls that ends with it.
func within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it reports true, failing the test with the
// last description it gave if step passes first.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(step)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s; last seen: %s", step, what, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
