package main

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The peers' drivers, compiled (Java) or run (Python) from a temporary
// directory, so that zkbench runs from anywhere.
var (
	//go:embed peers/ZkbenchCurator.java
	curatorSource []byte
	//go:embed peers/zkbench_kazoo.py
	kazooSource []byte
)

// errNoPeer says a peer (Curator with a JDK, or kazoo) is missing.
var errNoPeer = errors.New("zkbench: a peer is missing; run `make install-peers` (scripts/install-peers: Debian's libcurator-recipes-java, python3-kazoo and a JDK)")

// jvmFlags are the Curator driver's JVM options: the defaults (tiered JIT,
// G1) that a Curator service runs with, quieter logs.
var jvmFlags = []string{"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.slf4j.simpleLogger.logFile=System.err"}

// peer is one driver process: Curator in a JVM, or kazoo in CPython. Each
// command is one line to its stdin, answered by one line on its stdout.
type peer struct {
	key, name string // "curator", "Curator"
	version   string // for the machine table
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	lines     chan string // closed at EOF
	stderr    *tail
	mu        sync.Mutex
	dead      error // set once the process was killed or failed
}

// tail keeps the last bytes written to it: a failing driver's last words.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// peerSet is the run's peers and what they need: a directory with the
// drivers, and the proxies through which their traced sessions dial.
type peerSet struct {
	dir            string
	curator, kazoo *peer
	proxies        []*proxy
}

// startPeers compiles and starts the Curator driver and starts the kazoo
// driver. It fails, wrapping errNoPeer, when either is not installed.
func startPeers(ctx context.Context) (*peerSet, error) {
	dir, err := os.MkdirTemp("", "zkbench-peers-")
	if err != nil {
		return nil, err
	}
	ps := &peerSet{dir: dir}
	java, javac, cp, err := findCurator()
	if err != nil {
		ps.close()
		return nil, err
	}
	py, err := findKazoo()
	if err != nil {
		ps.close()
		return nil, err
	}
	src := filepath.Join(dir, "ZkbenchCurator.java")
	script := filepath.Join(dir, "zkbench_kazoo.py")
	if err := errors.Join(os.WriteFile(src, curatorSource, 0o644), os.WriteFile(script, kazooSource, 0o644)); err != nil {
		ps.close()
		return nil, err
	}
	// -Xlint:-path: Debian's jars name in their manifests jars it does not
	// install, which is harmless.
	args := []string{"-nowarn", "-Xlint:-path", "-encoding", "UTF-8", "-d", dir, "-cp", cp, src}
	if b, err := exec.CommandContext(ctx, javac, args...).CombinedOutput(); err != nil {
		ps.close()
		return nil, fmt.Errorf("javac %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	cu := exec.Command(java, append(append([]string{}, jvmFlags...), "-cp", cp+string(os.PathListSeparator)+dir, "ZkbenchCurator")...)
	if ps.curator, err = startPeer(ctx, "curator", "Curator", cu); err != nil {
		ps.close()
		return nil, err
	}
	ps.curator.version = curatorVersion()
	if ps.kazoo, err = startPeer(ctx, "kazoo", "kazoo", exec.Command(py, "-u", script)); err != nil {
		ps.close()
		return nil, err
	}
	ps.kazoo.version = kazooVersion(py)
	return ps, nil
}

func (ps *peerSet) all() []*peer { return []*peer{ps.curator, ps.kazoo} }

// close ends the drivers (which close their sessions), the proxies and the
// directory.
func (ps *peerSet) close() {
	var wg sync.WaitGroup
	for _, p := range []*peer{ps.curator, ps.kazoo} {
		if p != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.close()
			}()
		}
	}
	wg.Wait()
	for _, px := range ps.proxies {
		px.close()
	}
	os.RemoveAll(ps.dir)
}

func startPeer(ctx context.Context, key, name string, cmd *exec.Cmd) (*peer, error) {
	p := &peer{key: key, name: name, cmd: cmd, lines: make(chan string), stderr: &tail{}}
	cmd.Stderr = p.stderr
	// A driver that does not exit when told is killed this long after.
	cmd.WaitDelay = 10 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s driver: %w", key, err)
	}
	go func() {
		defer close(p.lines)
		r := bufio.NewReaderSize(stdout, 1<<16)
		for {
			line, err := r.ReadString('\n')
			if line = strings.TrimRight(line, "\r\n"); line != "" {
				p.lines <- line
			}
			if err != nil {
				return
			}
		}
	}()
	// The JVM's start is slow on a loaded machine.
	if got, err := p.read(ctx, 2*time.Minute); err != nil || got != "ready" {
		p.close()
		return nil, fmt.Errorf("%s driver did not start: %q %v", key, got, err)
	}
	return p, nil
}

// read waits for the next line from the driver.
func (p *peer) read(ctx context.Context, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.dead = fmt.Errorf("%s driver exited", p.key)
			return "", fmt.Errorf("%w: %s", p.dead, p.stderr)
		}
		return line, nil
	case <-ctx.Done():
		p.kill(ctx.Err())
		return "", ctx.Err()
	case <-t.C:
		err := fmt.Errorf("%s driver: no answer in %v", p.key, timeout)
		p.kill(err)
		return "", fmt.Errorf("%w: %s", err, p.stderr)
	}
}

// call sends one command and returns the answer's fields after its first,
// which must be want.
func (p *peer) call(ctx context.Context, want string, args ...any) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead != nil {
		return nil, p.dead
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprint(a)
	}
	line := strings.Join(parts, " ")
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.kill(err)
		return nil, fmt.Errorf("%s driver: %w: %s", p.key, err, p.stderr)
	}
	got, err := p.read(ctx, 10*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", line, err)
	}
	f := strings.Split(got, " ")
	if f[0] == "error" {
		return nil, fmt.Errorf("%s driver: %s: %s", p.key, line, strings.TrimPrefix(got, "error "))
	}
	if f[0] != want {
		return nil, fmt.Errorf("%s driver: %s: answered %q", p.key, line, got)
	}
	return f[1:], nil
}

func (p *peer) kill(err error) {
	if p.dead == nil {
		p.dead = err
	}
	p.cmd.Process.Kill()
}

// close closes the driver's stdin, on which it closes its sessions and
// exits, and waits for it.
func (p *peer) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stdin.Close()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	for done := false; !done; {
		select {
		case _, ok := <-p.lines:
			done = !ok
		case <-t.C:
			p.cmd.Process.Kill()
			t.Reset(time.Hour)
		}
	}
	p.cmd.Wait()
}

// open connects a group of the driver's sessions, the i-th to servers[i].
func (p *peer) open(ctx context.Context, group string, servers []string) error {
	_, err := p.call(ctx, "ok", "open", group, strings.Join(servers, ","))
	return err
}

func (p *peer) closeGroup(ctx context.Context, group string) error {
	_, err := p.call(ctx, "ok", "close", group)
	return err
}

// uncontended runs n operations op one after the other on the group's
// first session and returns their durations, timed by the driver.
func (p *peer) uncontended(ctx context.Context, op, group, dir string, n, permits int) ([]time.Duration, error) {
	f, err := p.call(ctx, "samples", "uncontended", op, group, dir, n, permits)
	if err != nil {
		return nil, err
	}
	return durations(f, 0)
}

// contended is contendedOnce in the driver: one worker per session of the
// group; acquisitions per second and the most held at once.
func (p *peer) contended(ctx context.Context, kind, group, dir string, total int, hold time.Duration, permits int) (float64, int64, error) {
	f, err := p.call(ctx, "contended", "contended", kind, group, dir, total, hold.Milliseconds(), permits)
	if err != nil {
		return 0, 0, err
	}
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("%s driver: contended: %q", p.key, f)
	}
	elapsed, err1 := strconv.ParseInt(f[0], 10, 64)
	most, err2 := strconv.ParseInt(f[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil || elapsed <= 0 {
		return 0, 0, fmt.Errorf("%s driver: contended: %q: %v", p.key, f, err)
	}
	return float64(total) / time.Duration(elapsed).Seconds(), most, nil
}

// chain is handoffOnce in the driver.
func (p *peer) chain(ctx context.Context, kind, group, dir string, waiters int, sp chainSpec) (handoffOutcome, error) {
	f, err := p.call(ctx, "chain", "chain", kind, group, dir, waiters, sp.skip, sp.want, sp.settle.Milliseconds())
	if err != nil {
		return handoffOutcome{}, err
	}
	if len(f) != 2 {
		return handoffOutcome{}, fmt.Errorf("%s driver: chain: %d fields", p.key, len(f))
	}
	samples, err1 := durations(f, 0)
	listing, err2 := durations(f, 1)
	if err := errors.Join(err1, err2); err != nil {
		return handoffOutcome{}, err
	}
	return handoffOutcome{samples: samples, listing: listing}, nil
}

// durations parses field i of an answer: nanoseconds, comma-separated, or
// "-" for none.
func durations(f []string, i int) ([]time.Duration, error) {
	if i >= len(f) {
		return nil, fmt.Errorf("answer has %d fields, want %d", len(f), i+1)
	}
	if f[i] == "-" {
		return nil, nil
	}
	var d []time.Duration
	for _, s := range strings.Split(f[i], ",") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad duration %q", s)
		}
		d = append(d, time.Duration(n))
	}
	return d, nil
}

// javaTool finds java or javac as zktest finds java: JAVA_HOME, then PATH.
func javaTool(name string) (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: no %s on PATH or in JAVA_HOME", errNoPeer, name)
	}
	return p, nil
}

// The Curator driver's class path: Curator and the ZooKeeper client
// (required), and their dependencies, taken when present.
var (
	requiredJars = []string{"curator-recipes", "curator-framework", "curator-client", "zookeeper", "zookeeper-jute"}
	optionalJars = []string{
		"guava", "failureaccess", "slf4j-api", "slf4j-simple",
		"netty-buffer", "netty-codec", "netty-common", "netty-handler", "netty-resolver",
		"netty-transport", "netty-transport-native-epoll", "netty-transport-native-unix-common",
	}
)

// curatorJarDir is ZKCOORD_CURATOR_JARS, as in the interop tests, or
// Debian's /usr/share/java.
func curatorJarDir() string {
	if d := os.Getenv("ZKCOORD_CURATOR_JARS"); d != "" {
		return d
	}
	return "/usr/share/java"
}

// findJar finds "<name>.jar" or, as Maven names them, "<name>-<version>.jar".
func findJar(dir, name string) string {
	if p := filepath.Join(dir, name+".jar"); fileExists(p) {
		return p
	}
	m, _ := filepath.Glob(filepath.Join(dir, name+"-[0-9]*.jar"))
	if len(m) > 0 {
		return m[len(m)-1]
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func findCurator() (java, javac, classpath string, err error) {
	if java, err = javaTool("java"); err != nil {
		return
	}
	if javac, err = javaTool("javac"); err != nil {
		err = fmt.Errorf("%w (a JDK, not only a JRE)", err)
		return
	}
	dir := curatorJarDir()
	var jars, missing []string
	for _, name := range requiredJars {
		if p := findJar(dir, name); p != "" {
			jars = append(jars, p)
		} else {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		err = fmt.Errorf("%w: no %s jar in %s (ZKCOORD_CURATOR_JARS names another directory)", errNoPeer, strings.Join(missing, ", "), dir)
		return
	}
	for _, name := range optionalJars {
		if p := findJar(dir, name); p != "" {
			jars = append(jars, p)
		}
	}
	return java, javac, strings.Join(jars, string(os.PathListSeparator)), nil
}

// findKazoo finds the Python that has kazoo: ZKCOORD_KAZOO_PYTHON, or
// Debian's /usr/bin/python3 (python3-kazoo installs there; the python3
// first on PATH may be a pyenv or venv build without it), or that python3.
func findKazoo() (string, error) {
	var candidates []string
	if p := os.Getenv("ZKCOORD_KAZOO_PYTHON"); p != "" {
		candidates = []string{p}
	} else {
		candidates = []string{"/usr/bin/python3"}
		if p, err := exec.LookPath("python3"); err == nil && p != candidates[0] {
			candidates = append(candidates, p)
		}
	}
	var errs []error
	for _, py := range candidates {
		b, err := exec.Command(py, "-c", "import kazoo.client, kazoo.recipe.lock, kazoo.recipe.election").CombinedOutput()
		if err == nil {
			return py, nil
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		errs = append(errs, fmt.Errorf("%s: %v: %s", py, err, lines[len(lines)-1]))
	}
	return "", fmt.Errorf("%w: no Python with kazoo (ZKCOORD_KAZOO_PYTHON names one): %w", errNoPeer, errors.Join(errs...))
}

// curatorVersion is read from the versioned jar's name, and Debian's
// package version when the jars are Debian's.
func curatorVersion() string {
	v := "unknown version"
	if m, _ := filepath.Glob(filepath.Join(curatorJarDir(), "curator-recipes-[0-9]*.jar")); len(m) > 0 {
		v = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m[len(m)-1]), "curator-recipes-"), ".jar")
	}
	if os.Getenv("ZKCOORD_CURATOR_JARS") == "" {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "libcurator-recipes-java").Output(); err == nil {
			v += ", Debian package libcurator-recipes-java " + strings.TrimSpace(string(out))
		}
	}
	return v
}

func kazooVersion(py string) string {
	out, err := exec.Command(py, "-c", "import sys, kazoo.version; print(kazoo.version.__version__, sys.version.split()[0])").Output()
	if err != nil {
		return "unknown version (" + py + ")"
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return strings.TrimSpace(string(out))
	}
	v := f[0] + " on CPython " + f[1] + " (" + py + ")"
	if py == "/usr/bin/python3" {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "python3-kazoo").Output(); err == nil {
			v += ", Debian package python3-kazoo " + strings.TrimSpace(string(out))
		}
	}
	return v
}

// proxy forwards connections to one server through the run's tracer, so
// that a peer's session opened through it is traced like zkbench's own
// connections. Only untimed trace passes use it: the hop it adds would
// slow what is timed.
type proxy struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(tr *tracer, server string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	px := &proxy{ln: ln}
	px.wg.Add(1)
	go func() {
		defer px.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := tr.dial("tcp", server, 10*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			px.mu.Lock()
			px.conns = append(px.conns, c, up)
			px.mu.Unlock()
			px.wg.Add(2)
			go func() {
				defer px.wg.Done()
				io.Copy(up, c) // requests, recorded by up's Write
				up.Close()
				c.Close()
			}()
			go func() {
				defer px.wg.Done()
				io.Copy(c, up) // replies and events, recorded by up's Read
				c.Close()
				up.Close()
			}()
		}
	}()
	return px, nil
}

func (px *proxy) addr() string { return px.ln.Addr().String() }

func (px *proxy) close() {
	px.ln.Close()
	px.mu.Lock()
	for _, c := range px.conns {
		c.Close()
	}
	px.mu.Unlock()
	px.wg.Wait()
}
