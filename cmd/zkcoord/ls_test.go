package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/zktest"
)

// A plain directory with children named locks and leases is no semaphore:
// a recipe is told by its contender nodes.
func TestPlainDirectoryWithRecipeNames(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t) + "/dedupe"
	m := manager(t, c.Servers(), "setup")
	persistent(t, m, dir, "")
	persistent(t, m, dir+"/locks", "")
	persistent(t, m, dir+"/locks/order-17", "")
	persistent(t, m, dir+"/leases", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"locks", dir}, dir + ` is not a lock: none of its 2 children is a contender ("leases", "locks")`},
		{[]string{"semaphore", dir}, dir + ` is not a semaphore: none of its 2 children is a contender ("leases", "locks")`},
		{[]string{"leader", dir}, dir + ` is not an election: none of its 2 children is a contender`},
	} {
		r := zkcoord(t, nil, append([]string{"--servers", strings.Join(c.Servers(), ",")}, tc.args...)...)
		if r.code != exitFailure || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "semaphore, not") {
			t.Errorf("zkcoord %q: exit %d, %q; want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	r := decode[lsReport](t, inspect(t, c.Servers(), "--json", "ls", dir))
	if r.Counts[nodePlain] != 4 || r.Counts[nodeSemaphore] != 0 {
		t.Errorf("ls: %+v", r)
	}
}

// ls names every kind below a path, with its contenders or children, and
// walks through plain nodes whatever their names.
func TestLs(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), "setup")
	other := manager(t, c.Servers(), "waiter")
	ctx := within(t, time.Minute)
	persistent(t, m, dir+"/app", "")
	persistent(t, m, dir+"/app/plain", "")
	persistent(t, m, dir+"/app/plain/x", "")
	persistent(t, m, dir+"/app/plain/y", "")

	mu, _ := mutex.New(m, dir+"/app/locks/payments")
	ml, err := mu.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ml.Unlock(context.Background())
	mu2, _ := mutex.New(other, dir+"/app/locks/payments")
	background(t, func(ctx context.Context) {
		if l, err := mu2.Lock(ctx); err == nil {
			l.Unlock(context.Background())
		}
	})
	rw, _ := rwlock.New(m, dir+"/app/config")
	rl, err := rw.RLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rl.RUnlock(context.Background())
	sem, _ := semaphore.New(m, dir+"/app/sem", 2)
	sl, err := sem.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Release(context.Background())
	el, _ := election.New(m, dir+"/app/election")
	term, err := el.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Resign(context.Background())
	queued(t, m, dir+"/app/locks/payments", 2, "lock-")

	r := decode[lsReport](t, inspect(t, c.Servers(), "ls", "--json", dir))
	want := []lsNode{
		{Path: dir, Kind: nodePlain, Children: 1},
		{Path: dir + "/app", Kind: nodePlain, Children: 5},
		{Path: dir + "/app/config", Kind: nodeRWLock, Contenders: 1, Children: 1},
		{Path: dir + "/app/election", Kind: nodeElection, Contenders: 1, Children: 1},
		{Path: dir + "/app/locks", Kind: nodePlain, Children: 1},
		{Path: dir + "/app/locks/payments", Kind: nodeLock, Contenders: 2, Children: 2},
		{Path: dir + "/app/plain", Kind: nodePlain, Children: 2},
		{Path: dir + "/app/plain/x", Kind: nodePlain},
		{Path: dir + "/app/plain/y", Kind: nodePlain},
		{Path: dir + "/app/sem", Kind: nodeSemaphore, Contenders: 1},
	}
	// The semaphore's locks/ may linger, empty, until the server reaps it.
	for i := range r.Nodes {
		if r.Nodes[i].Kind == nodeSemaphore {
			r.Nodes[i].Children = 0
		}
	}
	if !slices.Equal(r.Nodes, want) {
		got, _ := json.MarshalIndent(r.Nodes, "", " ")
		t.Errorf("ls nodes:\n%s", got)
	}
	wantCounts := map[string]int{nodeLock: 1, nodeRWLock: 1, nodeSemaphore: 1, nodeElection: 1, nodePlain: 6}
	for k, n := range wantCounts {
		if r.Counts[k] != n {
			t.Errorf("counts %v, want %v", r.Counts, wantCounts)
			break
		}
	}
	if r.Truncated || r.Path != dir {
		t.Errorf("path %q, truncated %v", r.Path, r.Truncated)
	}
	text := inspect(t, c.Servers(), "ls", dir).stdout
	for _, w := range []string{
		"10 nodes: 1 lock, 1 rwlock, 1 semaphore, 1 election, 6 plain",
		"lock       2 contenders",
		"semaphore  1 lease or waiter",
		"election   1 candidate",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("ls text lacks %q:\n%s", w, text)
		}
	}
	if r := decode[lsReport](t, inspect(t, c.Servers(), "ls", "--json", "/")); r.Nodes[0].Path != "/" || !slices.ContainsFunc(r.Nodes, func(n lsNode) bool { return n.Path == dir+"/app/locks/payments" }) {
		t.Errorf("ls / does not reach %s", dir)
	}
	if r := zkcoord(t, nil, "--servers", strings.Join(c.Servers(), ","), "ls", dir+"/absent"); r.code != exitFailure || !strings.Contains(r.stderr, "nothing at "+dir+"/absent") {
		t.Errorf("ls of nothing: exit %d, %q", r.code, r.stderr)
	}
}

// --dir names the recorded ensemble for every command, not only ensemble's,
// and wins over $ZKCOORD_ENSEMBLE_DIR.
func TestDirOnEveryCommand(t *testing.T) {
	t.Parallel()
	c := zktest.Shared(t)
	dir := dirFor(t)
	m := manager(t, c.Servers(), "holder")
	mu, _ := mutex.New(m, dir)
	l, err := mu.Lock(within(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(context.Background())

	state := t.TempDir()
	data, _ := json.Marshal(map[string]any{"servers": c.Servers()})
	if err := os.WriteFile(filepath.Join(state, ensembleStateFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ZKCOORD_ENSEMBLE_DIR": t.TempDir()} // records nothing
	for _, args := range [][]string{
		{"--dir", state, "locks", dir},
		{"locks", "--dir", state, dir},
		{"ls", dir, "--dir", state},
		{"--dir", state, "lock", "--try", dir + "-other", "--", "true"},
		{"--dir", state, "ensemble", "status"},
	} {
		if r := zkcoord(t, env, args...); r.code != 0 {
			t.Errorf("zkcoord %q: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if r := zkcoord(t, env, "locks", dir); r.code != exitFailure || !strings.Contains(r.stderr, "no ZooKeeper ensemble given") {
		t.Errorf("without --dir: exit %d, %q", r.code, r.stderr)
	}
	if r := zkcoord(t, env, "--dir", "", "locks", dir); r.code != exitUsage || !strings.Contains(r.stderr, "--dir must not be empty") {
		t.Errorf("--dir '': exit %d, %q", r.code, r.stderr)
	}
}
