package ports

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// lowest is the bottom of the range Reserve picks from: above the ports
// most services are configured on, below the kernel's ephemeral range.
const lowest = 15000

// A Reservation holds ports until Release. The holder's servers may bind,
// close and bind them again (a restarted server) without racing anyone who
// reserves through this package or asks the kernel for a port.
type Reservation struct {
	Ports []int

	mu    sync.Mutex
	locks []*os.File // one per port; nil entries where locking is unsupported
}

// ErrExhausted is returned when too few ports are free in the range.
var ErrExhausted = errors.New("ports: not enough free ports outside the ephemeral range")

// Reserve returns n distinct loopback ports that nobody listens on, that
// the kernel will not hand out for outgoing connections, and that no other
// Reservation on the machine holds.
func Reserve(n int) (*Reservation, error) {
	lo, hi := candidates()
	if hi-lo+1 < n {
		return nil, fmt.Errorf("%w: %d wanted, range %d-%d", ErrExhausted, n, lo, hi)
	}
	dir, err := lockDir()
	if err != nil {
		return nil, err
	}
	r := &Reservation{}
	size := hi - lo + 1
	start := rand.IntN(size)
	for k := 0; k < size && len(r.Ports) < n; k++ {
		port := lo + (start+k)%size
		f, err := lock(filepath.Join(dir, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		if !bindable(port) {
			unlock(f)
			continue
		}
		r.Ports = append(r.Ports, port)
		r.locks = append(r.locks, f)
	}
	if len(r.Ports) < n {
		r.Release()
		return nil, fmt.Errorf("%w: %d wanted, range %d-%d", ErrExhausted, n, lo, hi)
	}
	return r, nil
}

// Hold reserves one given port, for a server that must come back where it
// was. The file is the reservation: a child process given it (in
// exec.Cmd.ExtraFiles) keeps the port reserved as long as it lives, and
// closing every copy gives the port back. It fails when another process
// holds the port, and returns a nil file where locking is unsupported.
func Hold(port int) (*os.File, error) {
	dir, err := lockDir()
	if err != nil {
		return nil, err
	}
	f, err := lock(filepath.Join(dir, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("ports: port %d is reserved by another process: %w", port, err)
	}
	return f, nil
}

// Release gives the ports back. It is safe to call more than once.
func (r *Reservation) Release() {
	if r == nil {
		return
	}
	r.mu.Lock()
	locks := r.locks
	r.locks = nil
	r.mu.Unlock()
	for _, f := range locks {
		unlock(f)
	}
}

// lockDir holds a lock file per port, shared by every user's test runs.
func lockDir() (string, error) {
	dir := filepath.Join(os.TempDir(), "zkcoord-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("ports: %w", err)
	}
	_ = os.Chmod(dir, 0o1777)
	return dir, nil
}

func bindable(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// candidates is the range below the kernel's ephemeral ports, or above
// them when a machine's ephemeral range starts too low to leave room.
func candidates() (lo, hi int) {
	elo, ehi := ephemeral()
	if elo-1-lowest >= 1000 {
		return lowest, elo - 1
	}
	if 65535-ehi >= 1000 {
		return ehi + 1, 65535
	}
	return lowest, elo - 1
}

// ephemeral reads Linux's ephemeral port range; elsewhere, and when it
// cannot be read, it returns IANA's dynamic range, which the BSDs and
// macOS use by default.
func ephemeral() (lo, hi int) {
	lo, hi = 49152, 65535
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return lo, hi
	}
	a, err1 := strconv.Atoi(f[0])
	b, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || a < 1 || b < a || b > 65535 {
		return lo, hi
	}
	return a, b
}
