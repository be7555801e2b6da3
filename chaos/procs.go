package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
	childproc "github.com/zkcoord/zkcoord/internal/proc"
)

// Binaries are the suite's programs, built once per run.
type Binaries struct {
	Client, Register string
}

// Build compiles chaos-client and chaos-register into dir with the go
// command (without -race: the processes under test need not pay for it).
func Build(ctx context.Context, dir string) (Binaries, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return Binaries{}, fmt.Errorf("chaos: the go command is needed to build the client: %w", err)
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", dir+string(filepath.Separator),
		"github.com/zkcoord/zkcoord/chaos/cmd/chaos-client",
		"github.com/zkcoord/zkcoord/chaos/cmd/chaos-register")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("chaos: go build: %w\n%s", err, out)
	}
	return Binaries{
		Client:   filepath.Join(dir, "chaos-client"),
		Register: filepath.Join(dir, "chaos-register"),
	}, nil
}

// proc is one child process of the run.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once its output is read to the end and it was reaped
	err  error         // Wait's, valid after done
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) signal(sig syscall.Signal) error { return syscall.Kill(p.pid(), sig) }

// stop sends SIGTERM and waits until the process is gone or the timeout
// passes, then kills it. It reports whether the process exited on its own
// within the timeout, and how.
func (p *proc) stop(timeout time.Duration) error {
	_ = p.signal(syscall.SIGCONT) // a stopped process cannot act on SIGTERM
	_ = p.signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s: %w", p.name, p.err)
		}
		return nil
	case <-t.C:
		// A Go program's answer to SIGQUIT is every goroutine's stack, on
		// its stderr (the process's log): what it was stuck on.
		_ = p.signal(syscall.SIGQUIT)
		q := time.NewTimer(2 * time.Second)
		defer q.Stop()
		select {
		case <-p.done:
		case <-q.C:
		}
		_ = p.signal(syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not exit within %v of SIGTERM: killed (stacks in its log)", p.name, timeout)
	}
}

// kill ends the process at once, for cleanup after a failure.
func (p *proc) kill() {
	_ = p.signal(syscall.SIGCONT)
	_ = p.signal(syscall.SIGKILL)
	<-p.done
}

// start runs bin with args, its stderr into errPath, and its stdout handed
// line by line to onLine from a goroutine of its own.
func start(name, bin string, args []string, errPath string, onLine func(string)) (*proc, error) {
	errFile, err := os.OpenFile(errPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer errFile.Close() // the child has its own copy
	cmd := exec.Command(bin, args...)
	cmd.Stderr = errFile
	cmd.SysProcAttr = procAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	if err := childproc.Start(cmd, func() {
		defer close(p.done)
		in := bufio.NewReader(stdout)
		for {
			line, err := in.ReadString('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				onLine(line[:len(line)-1])
			}
			if err != nil {
				break
			}
		}
		// Everything read: now Wait may close the pipe.
		p.err = cmd.Wait()
	}); err != nil {
		return nil, fmt.Errorf("chaos: starting %s: %w", name, err)
	}
	return p, nil
}

// startRegister starts a register and returns it with its address.
func startRegister(bin, dir, name string, fenced bool) (*proc, string, error) {
	addr := make(chan string, 1)
	p, err := start("register "+name, bin,
		[]string{"-fenced=" + fmt.Sprint(fenced), "-name", name, "-log", filepath.Join(dir, "register-"+name+".jsonl"),
			"-db", filepath.Join(dir, "register-"+name+".db")}, // or POSTGRES_URL, inherited
		filepath.Join(dir, "register-"+name+".stderr"),
		func(line string) {
			if a, ok := strings.CutPrefix(line, "ADDR "); ok {
				select {
				case addr <- a:
				default:
				}
			}
		})
	if err != nil {
		return nil, "", err
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case a := <-addr:
		return p, a, nil
	case <-p.done:
		return nil, "", fmt.Errorf("chaos: register %s exited at start: %v", name, p.err)
	case <-t.C:
		p.kill()
		return nil, "", fmt.Errorf("chaos: register %s did not listen within 30s", name)
	}
}

// readRecords reads a register's log.
func readRecords(path string) ([]proto.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []proto.Record
	dec := json.NewDecoder(f)
	for {
		var r proto.Record
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, fmt.Errorf("chaos: %s: %w", path, err)
		}
		recs = append(recs, r)
	}
}
