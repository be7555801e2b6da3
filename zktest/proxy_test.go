package zktest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zkcoord/zkcoord/internal/ports"
)

// backend is an echo server standing in for ZooKeeper behind a proxy.
type backend struct {
	ln       net.Listener
	accepted atomic.Int64
	received atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
	wg       sync.WaitGroup
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{ln: ln}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					b.received.Add(int64(n))
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		b.closeConns()
		b.wg.Wait()
	})
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

// closeConns closes the server side of every connection, as a dying server would.
func (b *backend) closeConns() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
}

func testLink(t *testing.T, targets ...string) *Link {
	t.Helper()
	l, err := newLink(targets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends msg and expects it echoed within a generous deadline.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

// expectClosed expects the proxy to close c promptly.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [1]byte
	_, err := c.Read(buf[:])
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection not closed: read err = %v", err)
	}
}

// silenceWindow is how long a blackholed connection is watched to see that
// nothing arrives: absence can only be checked over a window.
const silenceWindow = 200 * time.Millisecond

// expectSilent writes to c and expects neither an answer nor a close.
func expectSilent(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := io.WriteString(c, "anyone?"); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(silenceWindow))
	var buf [1]byte
	if n, err := c.Read(buf[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent connection: read n=%d err=%v, want a timeout", n, err)
	}
}

func TestLinkForwards(t *testing.T) {
	b0, b1 := newBackend(t), newBackend(t)
	l := testLink(t, b0.addr(), b1.addr())
	if got := l.Servers(); len(got) != 2 || got[0] == got[1] {
		t.Fatalf("Servers() = %v", got)
	}
	c0, c1 := dial(t, l.Servers()[0]), dial(t, l.Servers()[1])
	roundTrip(t, c0, "hello")
	roundTrip(t, c1, "world!")
	if b0.received.Load() != 5 || b1.received.Load() != 6 {
		t.Fatalf("backends received %d and %d bytes, want 5 and 6", b0.received.Load(), b1.received.Load())
	}
}

func TestLinkCut(t *testing.T) {
	b0, b1 := newBackend(t), newBackend(t)
	l := testLink(t, b0.addr(), b1.addr())
	c0, c1 := dial(t, l.Servers()[0]), dial(t, l.Servers()[1])
	roundTrip(t, c0, "a")
	roundTrip(t, c1, "b")

	l.Cut(0)
	expectClosed(t, c0)
	roundTrip(t, c1, "still up") // only server 0 was cut
	expectClosed(t, dial(t, l.Servers()[0]))
	if n := b0.accepted.Load(); n != 1 {
		t.Fatalf("backend 0 accepted %d connections, want 1: a cut link must not forward new ones", n)
	}

	l.Heal()
	roundTrip(t, dial(t, l.Servers()[0]), "back")

	l.Cut()
	expectClosed(t, c1)
}

func TestLinkBlackhole(t *testing.T) {
	b := newBackend(t)
	l := testLink(t, b.addr())
	old := dial(t, l.Servers()[0])
	roundTrip(t, old, "before")

	l.Blackhole()
	expectSilent(t, old)
	fresh := dial(t, l.Servers()[0]) // accepted, never forwarded
	expectSilent(t, fresh)
	// The server going away must not show through a partition either.
	b.closeConns()
	expectSilent(t, old)
	if got := b.received.Load(); got != int64(len("before")) {
		t.Fatalf("backend received %d bytes, want only the %d sent before the blackhole", got, len("before"))
	}
	if got := b.accepted.Load(); got != 1 {
		t.Fatalf("backend accepted %d connections, want 1", got)
	}

	l.Heal()
	expectClosed(t, old)
	expectClosed(t, fresh)
	roundTrip(t, dial(t, l.Servers()[0]), "after")
}

func TestLinkLatency(t *testing.T) {
	b := newBackend(t)
	l := testLink(t, b.addr())
	c := dial(t, l.Servers()[0])
	roundTrip(t, c, "warm")

	const d = 100 * time.Millisecond
	l.SetLatency(d)
	start := time.Now()
	roundTrip(t, c, "slow")
	if rtt := time.Since(start); rtt < 2*d {
		t.Fatalf("round trip took %v, want at least %v (%v each way)", rtt, 2*d, d)
	}

	// Many small writes must come back in order despite the delays.
	var want bytes.Buffer
	for i := range 50 {
		msg := []byte{byte('a' + i%26)}
		want.Write(msg)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("got %q, want %q", got, want.Bytes())
	}
}

func TestLinkDials(t *testing.T) {
	b0, b1 := newBackend(t), newBackend(t)
	l := testLink(t, b0.addr(), b1.addr())
	before := time.Now()
	dial(t, l.Servers()[0])
	dial(t, l.Servers()[1])
	l.Cut()
	expectClosed(t, dial(t, l.Servers()[0])) // refused dials count too
	// Accept runs asynchronously to the client's connect.
	var dials []time.Time
	waitFor(t, 5*time.Second, func() bool { dials = l.Dials(); return len(dials) >= 3 })
	if len(dials) != 3 {
		t.Fatalf("Dials() has %d entries, want 3", len(dials))
	}
	if !slices.IsSortedFunc(dials, func(a, b time.Time) int { return a.Compare(b) }) || dials[0].Before(before) {
		t.Fatalf("Dials() = %v, want ascending times after %v", dials, before)
	}
}

func TestLinkUpstreamDown(t *testing.T) {
	r, err := ports.Reserve(1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	l := testLink(t, "127.0.0.1:"+itoa(r.Ports[0]))
	expectClosed(t, dial(t, l.Servers()[0]))
}

func TestLinkCloseLeavesNoGoroutine(t *testing.T) {
	b := newBackend(t)
	ignore := goleak.IgnoreCurrent()
	l, err := newLink([]string{b.addr(), b.addr(), b.addr()})
	if err != nil {
		t.Fatal(err)
	}
	forwarding := dial(t, l.Servers()[0])
	roundTrip(t, forwarding, "x")
	l.SetLatency(time.Hour, 1) // a chunk stuck in the delay queue
	delayed := dial(t, l.Servers()[1])
	io.WriteString(delayed, "never")
	l.Blackhole(2)
	silent := dial(t, l.Servers()[2])
	io.WriteString(silent, "lost")

	l.Close()
	l.Close() // idempotent
	for _, c := range []net.Conn{forwarding, delayed, silent} {
		expectClosed(t, c)
	}
	if _, err := net.DialTimeout("tcp", l.Servers()[0], time.Second); err == nil {
		t.Fatal("a closed Link still accepts connections")
	}
	goleak.VerifyNone(t, ignore)
}

// A held direction delays bytes instead of losing them, as TCP does through
// a short partition, and new connections are refused meanwhile.
func TestProxyHold(t *testing.T) {
	b := newBackend(t)
	p, err := newProxy(b.addr(), func() {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	c := dial(t, p.addr())
	roundTrip(t, c, "hello")

	p.setHold(upstream)
	before := b.received.Load()
	expectSilent(t, c) // writes "anyone?"
	if got := b.received.Load(); got != before {
		t.Fatalf("backend received %d bytes through a held upstream", got-before)
	}
	expectClosed(t, dial(t, p.addr()))
	p.setHold(0)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len("anyone?"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "anyone?" {
		t.Fatalf("held bytes after release: %q, %v", got, err)
	}
	roundTrip(t, c, "again")

	p.setHold(downstream)
	before = b.received.Load()
	expectSilent(t, c)
	waitFor(t, 5*time.Second, func() bool { return b.received.Load() == before+int64(len("anyone?")) })
	p.setHold(0)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "anyone?" {
		t.Fatalf("held echo after release: %q, %v", got, err)
	}
	roundTrip(t, dial(t, p.addr()), "new connections pass again")
}
