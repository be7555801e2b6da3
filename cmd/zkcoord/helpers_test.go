package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

const healthy = 8 * time.Second

func dirFor(t *testing.T) string {
	return "/zkcoord-test/cmd/" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
}

// result is one in-process run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// zkcoord runs the command line in-process with env as its whole
// environment (nil: empty), as main would.
func zkcoord(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut, func(k string) string { return env[k] })
	return result{code, out.String(), errOut.String()}
}

// inspect runs a command against servers and expects it to succeed.
func inspect(t *testing.T, servers []string, args ...string) result {
	t.Helper()
	r := zkcoord(t, nil, append([]string{"--servers", strings.Join(servers, ",")}, args...)...)
	if r.code != 0 {
		t.Fatalf("zkcoord %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", r.stdout)
	}
	return v
}

func manager(t *testing.T, servers []string, identity string) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: servers, SessionTimeout: healthy, Logger: testutil.Logger(), Identity: identity})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func sessionOf(m *session.Manager) string { return sessionHex(m.Current().SessionID()) }

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// mkdirs creates dir and its missing ancestors as containers, as the
// recipes do: the server removes them once they are empty again.
func mkdirs(t *testing.T, m *session.Manager, dir string) {
	t.Helper()
	ctx := within(t, 30*time.Second)
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for p := dir; p != "/"; p = recipes.Parent(p) {
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		_, err := ep.CreateContainer(ctx, missing[i], nil, zk.WorldACL(zk.PermAll))
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatal(err)
		}
	}
}

// contender creates the node another client (Curator, kazoo) would:
// EPHEMERAL_SEQUENTIAL under dir, named prefix plus the server's sequence,
// with identity as data. It returns the node's name.
func contender(t *testing.T, m *session.Manager, dir, prefix, identity string) string {
	t.Helper()
	ctx := within(t, 30*time.Second)
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		// An emptied container is the server's to reap at any moment:
		// create the path again until the node lands, as the peers do.
		mkdirs(t, m, dir)
		p, err := ep.Create(ctx, recipes.Join(dir, prefix), []byte(identity), zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return recipes.Base(p)
	}
}

// Names as the other clients make them.
func curatorPrefix(marker string) string { return "_c_" + recipes.NewProtectedID() + "-" + marker }
func kazooPrefix(marker string) string {
	return strings.ReplaceAll(recipes.NewProtectedID(), "-", "") + marker
}

// persistent creates a plain node with data, deleted when the test ends.
func persistent(t *testing.T, m *session.Manager, path, data string) {
	t.Helper()
	mkdirs(t, m, recipes.Parent(path))
	ctx := within(t, 30*time.Second)
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ep.Create(ctx, path, []byte(data), zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if ep, err := m.Epoch(ctx); err == nil {
			ep.Delete(ctx, path, -1)
		}
	})
}

// stat reads a node's stat, nil when it does not exist.
func stat(t *testing.T, m *session.Manager, path string) *zk.Stat {
	t.Helper()
	ctx := within(t, 30*time.Second)
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Sync(ctx, path); err != nil && !errors.Is(err, zk.ErrNoNode) {
		t.Fatal(err)
	}
	ok, st, err := ep.Exists(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return nil
	}
	return st
}

// untouched fails the test if the node at path changed since before, or
// its set of children did: inspection must not write.
func untouched(t *testing.T, m *session.Manager, path string, before *zk.Stat) {
	t.Helper()
	after := stat(t, m, path)
	switch {
	case before == nil && after != nil:
		t.Errorf("%s exists after the inspection, and did not before", path)
	case before != nil && after == nil:
		t.Errorf("%s is gone after the inspection", path)
	case before != nil && (after.Cversion != before.Cversion || after.Version != before.Version || after.Pzxid != before.Pzxid):
		t.Errorf("%s changed during the inspection: %+v, then %+v", path, before, after)
	}
}

// eventually polls cond until it holds or d passes: the condition is a
// state another client reaches, which there is no event to wait for.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// queued waits until the directory has n contenders of markers.
func queued(t *testing.T, m *session.Manager, dir string, n int, markers ...string) {
	t.Helper()
	q, err := recipes.NewQueue(m, dir, nil, markers...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 30*time.Second)
	eventually(t, 20*time.Second, "contenders queued in "+dir, func() bool {
		ps, err := q.Participants(ctx)
		return err == nil && len(ps) == n
	})
}

// background runs f in a goroutine that the test waits for at its end,
// after cancelling f's context.
func background(t *testing.T, f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// lines is an output that a test can wait on, line by line.
type lines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return n, err
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// has matches a line that contains every one of parts.
func has(parts ...string) func(string) bool {
	return func(line string) bool {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				return false
			}
		}
		return true
	}
}

// await waits for a complete line, from index from on, that matches, and
// returns its index.
func (l *lines) await(t *testing.T, from int, match func(string) bool) int {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		text, changed := l.buf.String(), l.changed
		l.mu.Unlock()
		all := strings.SplitAfter(text, "\n")
		for i := from; i < len(all); i++ {
			if strings.HasSuffix(all[i], "\n") && match(strings.TrimSuffix(all[i], "\n")) {
				return i
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no line from line %d on is the one expected; output:\n%s", from, text)
		}
	}
}
