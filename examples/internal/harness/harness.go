// Package harness is what every example shares and none is about: finding
// the ZooKeeper ensemble, the main function, opening a session, creating a
// znode with its parents, and printing from several goroutines at once.
package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// Servers returns the ensemble to use: $ZK_SERVERS ("host:port,..."),
// else the local ensemble that `make ensemble-up` (`go run ./cmd/zkcoord
// ensemble up`) recorded in .ensemble/ensemble.json, looked for in the
// working directory and its parents ($ZKCOORD_ENSEMBLE_DIR names the
// directory instead). source says which.
func Servers() (servers []string, source string, err error) {
	if s := strings.TrimSpace(os.Getenv("ZK_SERVERS")); s != "" {
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				servers = append(servers, item)
			}
		}
		return servers, "ZK_SERVERS", nil
	}
	var file string
	if dir := os.Getenv("ZKCOORD_ENSEMBLE_DIR"); dir != "" {
		file = filepath.Join(dir, "ensemble.json")
	} else if file, err = findUp(filepath.Join(".ensemble", "ensemble.json")); err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", errNoEnsemble
	}
	if err != nil {
		return nil, "", err
	}
	var state struct {
		Servers []string `json:"servers"`
	}
	if err := json.Unmarshal(data, &state); err != nil || len(state.Servers) == 0 {
		return nil, "", fmt.Errorf("%s lists no servers (%v): start the ensemble again with `make ensemble-up`", file, err)
	}
	return state.Servers, file, nil
}

var errNoEnsemble = errors.New("no ZooKeeper ensemble: set ZK_SERVERS=host:port,... or start a local one with `make ensemble-up` (or `go run ./cmd/zkcoord ensemble up`)")

// findUp returns the first dir/name for dir the working directory or one
// of its parents.
func findUp(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		file := filepath.Join(dir, name)
		if _, err := os.Stat(file); err == nil {
			return file, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errNoEnsemble
		}
		dir = parent
	}
}

// Main runs an example: it finds the ensemble, gives run a context that
// ends on Ctrl-C or after two minutes, and exits non-zero if run fails.
func Main(run func(ctx context.Context, out io.Writer, servers []string) error) {
	servers, source, err := Servers()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "ZooKeeper: %s (from %s)\n", strings.Join(servers, ","), source)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = run(ctx, os.Stdout, servers)
	cancel()
	stop()
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
	ep, err := m.Epoch(ctx)
	if err != nil {
		return err
	}
	for i := 1; i < len(path); i++ {
		if path[i] != '/' {
			continue
		}
		if _, err := ep.Create(ctx, path[:i], nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	_, err = ep.Create(ctx, path, data, 0, zk.WorldACL(zk.PermAll))
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = ep.Set(ctx, path, data, -1)
	}
	return err
}
