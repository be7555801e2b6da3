package fencetest

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { RunMain(m) }

// A cluster serves SQL, and Stop leaves neither its process nor its
// directory.
func TestClusterStartStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx)
	if errors.Is(err, ErrNoPostgres) && testing.Short() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("SELECT 1: %d, %v", one, err)
	}
	_ = db.Close()
	pid := c.cmd.Process.Pid
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cluster's directory is still there: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postgres (pid %d) still runs after Stop: %v", pid, err)
	}
}

// With POSTGRES_URL set, test databases are made on that server and
// dropped afterwards; nothing is started.
func TestPostgresURLHonoured(t *testing.T) {
	server := NewCluster(t)
	Stop() // whatever an earlier test started
	t.Cleanup(Stop)
	t.Setenv("POSTGRES_URL", server.URL("postgres"))
	var name string
	t.Run("inner", func(t *testing.T) {
		u, err := url.Parse(PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := url.Parse(server.URL("postgres")); u.Host != want.Host {
			t.Errorf("database on %s, want the POSTGRES_URL server %s", u.Host, want.Host)
		}
		if shared.c != nil {
			t.Error("a cluster was started although POSTGRES_URL is set")
		}
		name = u.Path[1:]
	})
	db, err := sql.Open("pgx", server.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s left after its test: %d, %v", name, n, err)
	}
}

// A POSTGRES_URL that is not a postgres:// URL is an error saying so.
func TestPostgresURLMalformed(t *testing.T) {
	Stop()
	t.Cleanup(Stop)
	t.Setenv("POSTGRES_URL", "host=localhost dbname=x")
	if _, _, err := server(); err == nil {
		t.Error("a keyword/value POSTGRES_URL was accepted")
	}
}
