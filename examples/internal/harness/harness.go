// Package harness is what every example shares and none is about: finding
// the ZooKeeper ensemble (through the public package discover), running
// the example, opening a session, setting a znode with its parents, and
// printing from several goroutines at once.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/discover"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// Main runs an example: it finds the ensemble (discover.Servers), gives
// run ctx for two minutes at most, and exits non-zero if run fails. The
// caller's ctx is the one its signal handling cancels (see any example's
// main): run then returns, and the sessions it deferred closing end at
// once, instead of holding their locks for a session timeout.
func Main(ctx context.Context, run func(ctx context.Context, out io.Writer, servers []string) error) {
	servers, source, err := discover.Servers()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "ZooKeeper: %s (from %s)\n", strings.Join(servers, ","), source)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = run(ctx, os.Stdout, servers)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// Printer returns a Printf for out that goroutines may call at once, one
// whole line each.
func Printer(out io.Writer) func(format string, args ...any) {
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}
}

// Connect opens a session as one process of a service would: a service
// has one session.Manager per process, shared by every recipe it uses.
// Here each simulated process (a replica, a worker, ...) has its own.
// identity is what inspection shows as the holder of a lock; only the
// manager's warnings are logged.
func Connect(ctx context.Context, servers []string, identity string) (*session.Manager, error) {
	m, err := session.New(ctx, session.Config{
		Servers:        servers,
		SessionTimeout: 10 * time.Second,
		Identity:       identity,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: connecting to ZooKeeper: %w", identity, err)
	}
	return m, nil
}

// Put sets a persistent znode's data, creating the znode and its missing
// parents first.
func Put(ctx context.Context, m *session.Manager, path string, data []byte) error {
	if parent := recipes.Parent(path); parent != "/" {
		if err := recipes.EnsurePath(ctx, m, parent, nil); err != nil {
			return err
		}
	}
	ep, err := m.Epoch(ctx)
	if err != nil {
		return err
	}
	_, err = ep.Create(ctx, path, data, 0, zk.WorldACL(zk.PermAll))
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = ep.Set(ctx, path, data, -1)
	}
	return err
}

// Clear deletes path and everything below it, so that an example that
// leaves persistent nodes behind starts each run from a known state.
func Clear(ctx context.Context, m *session.Manager, path string) error {
	ep, err := m.Epoch(ctx)
	if err != nil {
		return err
	}
	children, _, err := ep.Children(ctx, path)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ch := range children {
		if err := Clear(ctx, m, path+"/"+ch); err != nil {
			return err
		}
	}
	if err := ep.Delete(ctx, path, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	return nil
}
