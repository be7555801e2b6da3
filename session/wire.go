package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// wire watches the bytes of every connection of one session to learn, on
// the monotonic clock, the latest instant the server is known to have heard
// from us, and the session timeout the server granted.
//
// ZooKeeper answers every request, ping and connect of a session in order,
// and sends watch notifications (xid -1) in between. So when the k-th
// non-notification frame arrives, the server has received at least k of our
// frames, hence one sent no earlier than our k-th: its send time is a lower
// bound on the server's last contact, whatever the server's bookkeeping
// (a session's expiry is always at least one timeout after that contact).
// Reading replies alone would not do: a notification or a late reply says
// nothing about when the server last heard from us.
type wire struct {
	base      time.Time    // monotonic origin of every offset below
	lastHeard atomic.Int64 // ns since base; 0: never
	timeout   atomic.Int64 // negotiated session timeout, ns; 0 until known
	sessionID atomic.Int64 // the session this wire credits; 0 until the first
	closing   atomic.Bool  // refuse new dials: the client is being shut down
	dial      func(network, address string, timeout time.Duration) (net.Conn, error)

	// Requests waiting to learn that their frame has been written, so that a
	// second request queued after that is sent behind it (see CreateAndList).
	waitersMu  sync.Mutex
	waiters    map[*sentWaiter]struct{}
	hasWaiters atomic.Int32
}

type sentWaiter struct {
	needle []byte
	sent   chan struct{}
}

// awaitSent returns a channel closed when a frame containing needle is
// written; stop forgets the wait.
func (w *wire) awaitSent(needle []byte) (sent <-chan struct{}, stop func()) {
	sw := &sentWaiter{needle: needle, sent: make(chan struct{})}
	w.waitersMu.Lock()
	if w.waiters == nil {
		w.waiters = make(map[*sentWaiter]struct{})
	}
	w.waiters[sw] = struct{}{}
	w.hasWaiters.Add(1)
	w.waitersMu.Unlock()
	return sw.sent, func() {
		w.waitersMu.Lock()
		if _, ok := w.waiters[sw]; ok {
			delete(w.waiters, sw)
			w.hasWaiters.Add(-1)
		}
		w.waitersMu.Unlock()
	}
}

func (w *wire) written(b []byte) {
	if w.hasWaiters.Load() == 0 {
		return
	}
	w.waitersMu.Lock()
	defer w.waitersMu.Unlock()
	for sw := range w.waiters {
		if bytes.Contains(b, sw.needle) {
			close(sw.sent)
			delete(w.waiters, sw)
			w.hasWaiters.Add(-1)
		}
	}
}

var errDialClosing = errors.New("zkcoord/session: client closing")

func newWire(dial func(string, string, time.Duration) (net.Conn, error)) *wire {
	if dial == nil {
		dial = net.DialTimeout
	}
	return &wire{base: time.Now(), dial: dial}
}

func (w *wire) now() int64 { return int64(time.Since(w.base)) }

// deadline is when the server may expire the session, less margin, as an
// offset from base; ok is false until a session was granted.
func (w *wire) deadline(margin func(time.Duration) time.Duration) (at time.Duration, ok bool) {
	heard, timeout := w.lastHeard.Load(), time.Duration(w.timeout.Load())
	if heard == 0 || timeout == 0 {
		return 0, false
	}
	return time.Duration(heard) + timeout - margin(timeout), true
}

func (w *wire) dialer(network, address string, timeout time.Duration) (net.Conn, error) {
	if w.closing.Load() {
		return nil, errDialClosing
	}
	c, err := w.dial(network, address, timeout)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, w: w}
	tc.in.reset()
	tc.out.reset()
	return tc, nil
}

// connected records a connect response: a granted session (id != 0) with
// its negotiated timeout. It reports whether the response credits contact.
func (w *wire) connected(sessionID int64, timeout time.Duration) bool {
	if sessionID == 0 {
		return false
	}
	if w.sessionID.CompareAndSwap(0, sessionID) || w.sessionID.Load() == sessionID {
		w.timeout.Store(int64(timeout))
		return true
	}
	return false // a new session on an old client: not ours to credit
}

func (w *wire) heard(sentAt int64) {
	for {
		old := w.lastHeard.Load()
		if sentAt <= old || w.lastHeard.CompareAndSwap(old, sentAt) {
			return
		}
	}
}

// trackedConn parses frame boundaries in both directions. go-zookeeper
// writes from one goroutine and reads from another; mu guards the queue of
// send times they share.
type trackedConn struct {
	net.Conn
	w *wire

	mu   sync.Mutex
	sent []int64 // send times of frames not yet answered, oldest first

	out framer // writer goroutine only
	in  framer // reader goroutine only
	// frames read so far on this connection; the first is the connect response.
	inFrames int
}

// framer splits a byte stream into length-prefixed frames and keeps the
// first bytes of each body, which is all the tracking needs.
type framer struct {
	hdr    [4]byte
	hdrN   int
	left   int // body bytes still to come; -1 when reading a header
	prefix [16]byte
	prefN  int
	body   int // this frame's body length
}

func (f *framer) reset() { f.left = -1 }

// feed consumes b, calling start at each frame's header and end when a
// frame's body is complete.
func (f *framer) feed(b []byte, start func(), end func(f *framer)) {
	for len(b) > 0 {
		if f.left < 0 {
			n := copy(f.hdr[f.hdrN:], b)
			f.hdrN += n
			b = b[n:]
			if f.hdrN < 4 {
				return
			}
			f.hdrN = 0
			f.body = int(int32(binary.BigEndian.Uint32(f.hdr[:])))
			if f.body < 0 {
				f.body = 0
			}
			f.left = f.body
			f.prefN = 0
			start()
			if f.left == 0 {
				f.left = -1
				end(f)
			}
			continue
		}
		n := min(f.left, len(b))
		if f.prefN < len(f.prefix) {
			f.prefN += copy(f.prefix[f.prefN:], b[:n])
		}
		f.left -= n
		b = b[n:]
		if f.left == 0 {
			f.left = -1
			end(f)
		}
	}
}

func (c *trackedConn) Write(b []byte) (int, error) {
	at := c.w.now() // before the bytes leave: a send time may only be early
	c.out.feed(b, func() {
		c.mu.Lock()
		c.sent = append(c.sent, at)
		c.mu.Unlock()
	}, func(*framer) {})
	n, err := c.Conn.Write(b)
	if err == nil {
		c.w.written(b)
	}
	return n, err
}

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.in.feed(b[:n], func() {}, c.frameIn)
	}
	return n, err
}

func (c *trackedConn) frameIn(f *framer) {
	c.inFrames++
	p := f.prefix[:min(f.prefN, f.body)]
	credit := true
	if c.inFrames == 1 {
		// connect response: protocolVersion, timeOut (ms), sessionId, passwd
		credit = false
		if len(p) >= 16 {
			timeout := time.Duration(int32(binary.BigEndian.Uint32(p[4:8]))) * time.Millisecond
			credit = c.w.connected(int64(binary.BigEndian.Uint64(p[8:16])), timeout)
		}
	} else if len(p) >= 4 && int32(binary.BigEndian.Uint32(p[:4])) == -1 {
		return // a watch notification answers nothing
	}
	c.mu.Lock()
	var at int64
	ok := len(c.sent) > 0
	if ok {
		at = c.sent[0]
		c.sent = c.sent[1:]
	}
	c.mu.Unlock()
	if ok && credit {
		c.w.heard(at)
	}
}
