package main

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// This test binary, started with one of these as its first argument, is
// zkcoord (its main), or a program for zkcoord to run.
const (
	asZkcoord = "zkcoord-main"
	asHelper  = "zkcoord-helper"
)

// helper is a program zkcoord runs in the tests; its exit status is the
// result.
func helper(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "helper: no program")
		return 2
	}
	token, err := strconv.ParseInt(os.Getenv(envToken), 10, 64)
	if err != nil || token <= 0 || os.Getenv(envPath) == "" {
		fmt.Fprintf(os.Stderr, "helper: %s=%q, %s=%q\n", envToken, os.Getenv(envToken), envPath, os.Getenv(envPath))
		return 4
	}
	switch args[0] {
	case "claim": // claim MARKER: own the marker file alone for a moment
		f, err := os.OpenFile(args[1], os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "helper: overlap: %v\n", err)
			return 3
		}
		f.Close()
		time.Sleep(time.Millisecond) // stands in for the critical section's work
		if err := os.Remove(args[1]); err != nil {
			fmt.Fprintf(os.Stderr, "helper: %v\n", err)
			return 3
		}
		return 0
	case "permit": // permit DIR MAX: count who holds at once
		dir, most := args[1], args[2]
		mine := filepath.Join(dir, strconv.Itoa(os.Getpid()))
		if err := os.WriteFile(mine, nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 3
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 3
		}
		if n, _ := strconv.Atoi(most); len(ents) > n {
			fmt.Fprintf(os.Stderr, "helper: %d holders at once, limit %s\n", len(ents), most)
			return 3
		}
		time.Sleep(20 * time.Millisecond) // holds a while, so that permits are contended
		os.Remove(mine)
		return 0
	case "stubborn": // stubborn FILE: hold, ignoring SIGTERM
		signal.Ignore(syscall.SIGTERM)
		return helper(append([]string{"hold"}, args[1:]...))
	case "hold": // hold FILE: say "pid token" in FILE, then wait for a signal
		if err := writeAtomic(args[1], fmt.Sprintf("%d %d\n", os.Getpid(), token)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 3
		}
		// Blocks until a signal's default action ends the process
		// (SIGUSR2 is never sent; a bare select{} would be a deadlock).
		never := make(chan os.Signal, 1)
		signal.Notify(never, syscall.SIGUSR2)
		<-never
		return 5
	case "fence": // fence DB LOG FILE: say "pid token" in FILE, write the token to the fence until SIGTERM
		if err := writeAtomic(args[3], fmt.Sprintf("%d %d\n", os.Getpid(), token)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 3
		}
		return fenceWriter(args[1], args[2], token)
	}
	fmt.Fprintln(os.Stderr, "helper: unknown program", args[0])
	return 2
}

func writeAtomic(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// The fence: one row, and a write that succeeds only with a token at least
// as high as the last one written, in the same statement.
// (To be replaced by the fence package's SQLite fence.)
const fenceSchema = `CREATE TABLE IF NOT EXISTS fence (id INTEGER PRIMARY KEY, token INTEGER NOT NULL, writer TEXT NOT NULL);
INSERT OR IGNORE INTO fence (id, token, writer) VALUES (1, 0, '')`

func openFence(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(fenceSchema); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// fenceWrite writes as token: refused (false) if a higher token wrote.
func fenceWrite(db *sql.DB, token int64, writer string) (bool, error) {
	res, err := db.Exec(`UPDATE fence SET token = ?, writer = ? WHERE id = 1 AND token <= ?`, token, writer, token)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// fenceWriter writes its token every 20ms, logging each outcome as
// "accepted TOKEN" or "refused TOKEN", and once more after SIGTERM
// ("sigterm" first), as a holder whose write was in flight would.
func fenceWriter(dbPath, logPath string, token int64) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	db, err := openFence(dbPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 3
	}
	defer db.Close()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 3
	}
	defer logf.Close()
	write := func() bool {
		ok, err := fenceWrite(db, token, strconv.Itoa(os.Getpid()))
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return false
		}
		verdict := "refused"
		if ok {
			verdict = "accepted"
		}
		fmt.Fprintf(logf, "%s %d\n", verdict, token)
		return true
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-term:
			fmt.Fprintf(logf, "sigterm %d\n", token)
			write()
			return 0
		case <-tick.C:
			if !write() {
				return 3
			}
		}
	}
}

// proc is a zkcoord process under test.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *lines // stdout and stderr
	done chan struct{}
	code int
}

// helperArgs is the command line of a helper program.
func helperArgs(t *testing.T, program string, args ...string) []string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{self, asHelper, program}, args...)
}

// startZkcoord starts zkcoord against servers with args, in a process group
// of its own. The test's end kills it and its program, if still running.
func startZkcoord(t *testing.T, servers []string, args ...string) *proc {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, out: newLines(), done: make(chan struct{})}
	p.cmd = exec.Command(self, append([]string{asZkcoord, "--servers", strings.Join(servers, ",")}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.code = exitCode(p.cmd.ProcessState)
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// wait waits for zkcoord to exit and returns its status.
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		p.t.Fatalf("zkcoord still running after %v; output:\n%s", d, p.out.String())
		return 0
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// runZkcoord runs zkcoord to its end and returns its status and output.
func runZkcoord(t *testing.T, servers []string, args ...string) (int, string) {
	t.Helper()
	p := startZkcoord(t, servers, args...)
	code := p.wait(time.Minute)
	return code, p.out.String()
}

// holder is what a "hold" helper wrote: its pid and token.
type holder struct {
	pid   int
	token int64
}

// awaitHolder waits until the hold helper has written file.
func awaitHolder(t *testing.T, file string, d time.Duration, p *proc) holder {
	t.Helper()
	var h holder
	eventually(t, d, "the program to start under zkcoord", func() bool {
		data, err := os.ReadFile(file)
		if err != nil {
			if p != nil && p.exited() {
				t.Fatalf("zkcoord exited %d before its program started:\n%s", p.code, p.out.String())
			}
			return false
		}
		_, err = fmt.Sscanf(string(data), "%d %d", &h.pid, &h.token)
		return err == nil
	})
	return h
}

// gone reports whether pid has exited (a zombie counts: it runs no more).
func gone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	if err != nil {
		return syscall.Kill(pid, 0) != nil
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// logLines reads a fence writer's log.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}
