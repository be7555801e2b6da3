package ports

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("PORTS_TEST_HOLD") != "" {
		holdAndWait()
		return
	}
	goleak.VerifyTestMain(m)
}

func TestReservedPortsAreFreeDistinctAndNotEphemeral(t *testing.T) {
	r, err := Reserve(12)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	elo, ehi := ephemeral()
	seen := map[int]bool{}
	for _, p := range r.Ports {
		if seen[p] {
			t.Fatalf("port %d reserved twice in %v", p, r.Ports)
		}
		seen[p] = true
		if p >= elo && p <= ehi {
			t.Errorf("port %d is in the ephemeral range %d-%d", p, elo, ehi)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("reserved port %d cannot be bound: %v", p, err)
		}
		_ = ln.Close()
	}
}

func TestReservationsExcludeEachOtherUntilReleased(t *testing.T) {
	a, err := Reserve(300)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Reserve(300)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	held := map[int]bool{}
	for _, p := range a.Ports {
		held[p] = true
	}
	for _, p := range b.Ports {
		if held[p] {
			t.Fatalf("port %d is in two live reservations", p)
		}
	}
	dir := filepath.Join(os.TempDir(), "zkcoord-ports")
	path := filepath.Join(dir, strconv.Itoa(a.Ports[0]))
	if f, err := lock(path); err == nil && f != nil {
		unlock(f)
		t.Fatalf("port %d's lock was taken while reserved", a.Ports[0])
	}
	a.Release()
	a.Release()
	f, err := lock(path)
	if err != nil {
		t.Fatalf("port %d's lock after Release: %v", a.Ports[0], err)
	}
	unlock(f)
}

func TestAListenedPortIsNotBindable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if bindable(ln.Addr().(*net.TCPAddr).Port) {
		t.Fatalf("bindable(%s) = true while it is listened on", ln.Addr())
	}
}

// A reservation dies with its process, however it dies: kill -9 of a test
// binary must not leave ports reserved for good.
func TestAReservationDiesWithItsHolder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock on Windows: reservations are per process there")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PORTS_TEST_HOLD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("holder said nothing: %v", err)
	}
	port, err := strconv.Atoi(line[:len(line)-1])
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("holder said %q", line)
	}
	path := filepath.Join(os.TempDir(), "zkcoord-ports", strconv.Itoa(port))
	if f, err := lock(path); err == nil {
		unlock(f)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("port %d's lock was free while another process held it", port)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_ = stdin.Close()
	f, err := lock(path)
	if err != nil {
		t.Fatalf("port %d's lock after its holder was killed: %v", port, err)
	}
	unlock(f)
}

// holdAndWait is the child of TestAReservationDiesWithItsHolder: it
// reserves a port, says which, and waits to be killed.
func holdAndWait() {
	r, err := Reserve(1)
	if err != nil {
		os.Exit(2)
	}
	_, _ = os.Stdout.WriteString(strconv.Itoa(r.Ports[0]) + "\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}
