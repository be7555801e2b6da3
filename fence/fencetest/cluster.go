package fencetest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/zkcoord/zkcoord/internal/ports"
	"github.com/zkcoord/zkcoord/internal/proc"
)

// ErrNoPostgres: neither POSTGRES_URL nor PostgreSQL's server binaries.
var ErrNoPostgres = errors.New("fencetest: no PostgreSQL: set POSTGRES_URL=postgres://user:pass@host:port/db, " +
	"or install the server binaries with `make install-postgres` (scripts/install-postgres; Debian: apt-get install postgresql)")

// Cluster is a throwaway PostgreSQL cluster: its own data directory and
// unix socket in a temporary directory, listening on a reserved port of
// 127.0.0.1, with every user trusted. Not for anything but tests: fsync is
// off.
type Cluster struct {
	dir    string
	port   int
	hold   *ports.Reservation // port, until Stop
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	err    error         // cmd's exit, once exited is closed
}

// Start initialises and starts a cluster. As root it runs initdb and
// postgres as the postgres user, which PostgreSQL requires.
func Start(ctx context.Context) (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, uid, gid, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempBase(cred != nil), "fencetest-pg-")
	if err != nil {
		return nil, fmt.Errorf("fencetest: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("fencetest: %w", err)
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir, initdb.Env = dir, []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")}
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("fencetest: initdb: %w\n%s", err, out)
	}
	// A reserved port may still be taken by a process that does not
	// reserve (internal/ports): then try another, once.
	for attempt := 0; ; attempt++ {
		c, err := start(ctx, bin, dir, cred)
		if err == nil || attempt == 1 {
			if err != nil {
				_ = os.RemoveAll(dir)
			}
			return c, err
		}
	}
}

func start(ctx context.Context, bin, dir string, cred *syscall.Credential) (_ *Cluster, err error) {
	hold, err := ports.Reserve(1)
	if err != nil {
		return nil, fmt.Errorf("fencetest: %w", err)
	}
	defer func() {
		if err != nil {
			hold.Release()
		}
	}()
	port := hold.Ports[0]
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, fmt.Errorf("fencetest: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"),
		"-k", dir, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-F", "-c", "full_page_writes=off", "-c", "max_connections=100")
	cmd.Dir, cmd.Env = dir, []string{"LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr(cred)
	c := &Cluster{dir: dir, port: port, hold: hold, cmd: cmd, exited: make(chan struct{})}
	if err := proc.Start(cmd, func() {
		c.err = cmd.Wait()
		close(c.exited)
	}); err != nil {
		return nil, fmt.Errorf("fencetest: starting postgres: %w", err)
	}
	if err := c.waitReady(ctx); err != nil {
		c.kill()
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		return nil, fmt.Errorf("%w\npostgres.log:\n%s", err, tail(log, 2000))
	}
	return c, nil
}

// waitReady waits until the server accepts connections.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		err := db.PingContext(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("fencetest: postgres exited at start: %v", c.err)
		case <-ctx.Done():
			return fmt.Errorf("fencetest: postgres not ready on port %d: %w (last: %v)", c.port, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// URL is the URL of database on the cluster, as its superuser, over TCP.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}

// Stop shuts the cluster down (fast: open sessions are ended) and removes
// its directory.
func (c *Cluster) Stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		c.kill()
	}
	c.hold.Release()
	return os.RemoveAll(c.dir)
}

func (c *Cluster) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
}

// binDir finds initdb and postgres: on PATH, or Debian's
// /usr/lib/postgresql/<version>/bin, the newest version first.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	for _, p := range found {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// credential is who runs the servers: the current user, or the postgres
// user when that is root (PostgreSQL refuses to run as root).
func credential() (cred *syscall.Credential, uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return nil, 0, 0, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("fencetest: running as root, and PostgreSQL will not: no postgres user to run it as (%v); "+
			"`make install-postgres` creates one", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

// tempBase is where the cluster's directory goes: the usual temporary
// directory, unless the server runs as another user who could not reach
// it (a TMPDIR under /root), then /tmp.
func tempBase(otherUser bool) string {
	base := os.TempDir()
	if !otherUser {
		return base
	}
	for d := base; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return base
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}
