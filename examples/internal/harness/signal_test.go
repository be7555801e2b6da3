package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

const (
	helperEnv  = "ZKCOORD_HARNESS_HELPER"
	helperLock = "/zkcoord-test/harness/signal"
)

// helperMain is an example's main, as every example has it: it holds a
// lock until it is signalled.
func helperMain() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	Main(ctx, func(ctx context.Context, out io.Writer, servers []string) error {
		m, err := Connect(ctx, servers, "signalled-example")
		if err != nil {
			return err
		}
		defer m.Close()
		mu, err := mutex.New(m, helperLock)
		if err != nil {
			return err
		}
		lease, err := mu.Lock(ctx)
		if err != nil {
			return err
		}
		defer lease.Unlock(context.WithoutCancel(ctx))
		fmt.Fprintln(out, "locked")
		<-ctx.Done()
		return nil
	})
}

// An example stopped with SIGTERM or Ctrl-C closes its session on the way
// out: the lock it held is free the moment the process has exited, not a
// session timeout (10 s) later.
func TestSignalReleasesLocks(t *testing.T) {
	c := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := Connect(ctx, c.Servers(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mu, err := mutex.New(m, helperLock)
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=1", "ZK_SERVERS="+strings.Join(c.Servers(), ","))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "locked\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("example printed %q, %v; want locked", line, err)
		}
		if _, err := mu.TryLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
			t.Fatalf("while the example holds it: TryLock = %v, want ErrWouldBlock", err)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v: example exited with %v, want success", sig, err)
		}
		l, err := mu.TryLock(ctx)
		if err != nil {
			t.Fatalf("%v: right after the example exited, TryLock = %v; want the lock free", sig, err)
		}
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
