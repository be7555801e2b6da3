package fencetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/fence"
	"go.uber.org/goleak"
)

// shared is the cluster behind PostgresURL, started on first use and
// stopped by RunMain, with a connection to its postgres database from which
// each test's database is created and dropped.
var shared struct {
	mu      sync.Mutex
	started bool
	c       *Cluster // nil when POSTGRES_URL names the server
	admin   *sql.DB
	base    *url.URL
	err     error
}

var databases atomic.Int64

// PostgresURL returns the URL of a new, empty database for t, dropped when
// t ends. The databases live on the server POSTGRES_URL names (its user
// must be allowed to create databases), or else on a throwaway cluster that
// the test binary starts on first use and RunMain stops. When there is no
// PostgreSQL, t is skipped under -short and fails otherwise, saying how to
// install it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin, base, err := server()
	if err != nil {
		unavailable(t, err)
	}
	name := fmt.Sprintf("fencetest_%d_%d", os.Getpid(), databases.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("fencetest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a connection the test left open must not keep it.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("fencetest: dropping database %s: %v", name, err)
		}
	})
	u := *base
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a new, empty database for t (see PostgresURL) through
// pgx's database/sql driver; it is closed, then dropped, when t ends.
func Postgres(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", PostgresURL(t))
	if err != nil {
		t.Fatalf("fencetest: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// SQLite opens a new SQLite database in a file of t's temporary directory,
// through fence.OpenSQLite; it is closed when t ends.
func SQLite(t testing.TB) *sql.DB {
	t.Helper()
	db, err := fence.OpenSQLite(filepath.Join(t.TempDir(), "fence.db"))
	if err != nil {
		t.Fatalf("fencetest: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Dialects opens a fresh database of each dialect for t: SQLite, then
// PostgreSQL. Run a test body against both with t.Run(name, ...).
func Dialects(t *testing.T, body func(t *testing.T, db *sql.DB, d fence.Dialect)) {
	t.Run("sqlite", func(t *testing.T) { body(t, SQLite(t), fence.SQLite) })
	t.Run("postgres", func(t *testing.T) { body(t, Postgres(t), fence.Postgres) })
}

func server() (*sql.DB, *url.URL, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.started {
		shared.started = true
		shared.err = startShared()
	}
	return shared.admin, shared.base, shared.err
}

func startShared() error {
	raw := strings.TrimSpace(os.Getenv("POSTGRES_URL"))
	if raw == "" {
		c, err := Start(context.Background())
		if err != nil {
			return err
		}
		shared.c = c
		raw = c.URL("postgres")
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		return fmt.Errorf("fencetest: POSTGRES_URL %q: want postgres://user:pass@host:port/db (%v)", raw, err)
	}
	admin, err := sql.Open("pgx", raw)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if shared.c != nil {
			_ = shared.c.Stop()
			shared.c = nil
		}
		return fmt.Errorf("fencetest: connecting to %s: %w", base.Redacted(), err)
	}
	shared.admin, shared.base = admin, base
	return nil
}

// Stop stops the shared cluster, if one was started, and lets the next
// PostgresURL start a new one.
func Stop() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.admin != nil {
		_ = shared.admin.Close()
	}
	if shared.c != nil {
		_ = shared.c.Stop()
	}
	shared.started, shared.c, shared.admin, shared.base, shared.err = false, nil, nil, nil, nil
}

// RunMain is a whole TestMain for a package that uses Postgres: it runs
// the tests, stops the shared cluster and, if they passed, fails the binary
// when goroutines outlive them (as zktest.RunMain does, whose shared
// ZooKeeper such a package cannot use: take one per test with zktest.Start).
func RunMain(m *testing.M) {
	code := m.Run()
	Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "fencetest: goroutines leaked by the tests:\n%v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if testing.Short() {
		t.Skip(err)
	}
	t.Fatal(err)
}

// NewCluster starts a cluster of t's own, stopped when t ends: for a test
// that needs a whole server, such as one that sets POSTGRES_URL for the
// program it runs. It skips or fails like PostgresURL.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx)
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("fencetest: %v", err)
		}
	})
	return c
}
