package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// wire watches the bytes of every connection of one session. It learns the
// session timeout the server granted, credits the session's deadline with
// what only the leader can have done (see connected and leaderProof), and
// carries the workarounds for go-zookeeper v1.0.4 that need to see frames
// (upstream.go).
//
// ZooKeeper answers every request, ping and connect of a session in order,
// and sends watch notifications (xid -1) in between. So when the k-th
// non-notification frame arrives, the server has received at least k of our
// frames, hence one sent no earlier than our k-th: its send time is a lower
// bound on when that server last heard from us.
type wire struct {
	clock     clock         // origin of every offset below
	lastHeard atomic.Int64  // proven contact with the leader, ns since origin; 0: never
	lastReply atomic.Int64  // latest answer from any server, ns since origin (diagnostics)
	gen       atomic.Uint64 // connections dialed so far: the current one's number
	// creditReplies credits every answer, as if a follower's reply proved
	// the leader's: the behaviour before leaderProof, kept as a control.
	creditReplies bool
	gap           atomic.Int64                 // leaderProof's gap, for reconnections
	timeout       atomic.Int64                 // negotiated session timeout, ns; 0 until known
	sessionID     atomic.Int64                 // the session this wire credits; 0 until the first
	watches       watchTable                   // the client's watches, as seen on the wire
	xids          atomic.Pointer[func() int32] // the client's request counter (xidFloor)
	czxids        czxids                       // czxids of the nodes we created (czxid.go)
	closing       atomic.Bool                  // refuse new dials: the client is being shut down
	connsMu       sync.Mutex
	conns         map[*trackedConn]struct{} // open connections, for closeAll
	dial          func(network, address string, timeout time.Duration) (net.Conn, error)
	// Why the latest connection failed before the server answered its
	// connect request (the dial's error, or the first read's), nil after a
	// dial succeeds until then: go-zookeeper only logs these, so the manager
	// reports it (say, a certificate the TLS dialer rejected, or one the
	// server rejected) instead of a bare "no server reachable".
	connErr atomic.Pointer[error]

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
	return &wire{clock: newClock(), dial: dial}
}

func (w *wire) now() int64 { return w.clock.now() }

// client tells the wire which client it carries. Until then no hold can
// tell an earlier connection's set-watches from the current one's; none is
// needed, since a new client has no watches to re-send.
func (w *wire) client(conn *zk.Conn) {
	if read := xidFloor(conn); read != nil {
		w.xids.Store(&read)
	}
}

// generation numbers the connection the client is on; a request sent and
// answered while it did not change was sent and answered on one connection.
func (w *wire) generation() uint64 { return w.gen.Load() }

// lastConnErr is why the latest connection failed before the server
// answered its connect request, or nil.
func (w *wire) lastConnErr() error {
	if p := w.connErr.Load(); p != nil {
		return *p
	}
	return nil
}

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
		w.connErr.Store(&err)
		return nil, err
	}
	w.connErr.Store(nil)
	w.gen.Add(1)
	tc := newTrackedConn(c, w)
	w.connsMu.Lock()
	defer w.connsMu.Unlock()
	if w.closing.Load() { // closeAll ran while we dialed
		c.Close()
		return nil, errDialClosing
	}
	if w.conns == nil {
		w.conns = make(map[*trackedConn]struct{})
	}
	w.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll refuses new dials and closes every open connection. go-zookeeper
// gives up on a server that accepted a connection but never answers its
// handshake only after ten receive timeouts (over a minute at a 10 s
// session timeout), and its Close does not interrupt that wait: this does.
func (w *wire) closeAll() {
	w.connsMu.Lock()
	w.closing.Store(true)
	conns := w.conns
	w.conns = nil
	w.connsMu.Unlock()
	for c := range conns {
		c.Close()
	}
}

func newTrackedConn(c net.Conn, w *wire) *trackedConn {
	tc := &trackedConn{
		Conn: c, w: w,
		pending: make(map[int32]watchRequest),
		creates: make(map[int32]struct{}),
		closed:  make(chan struct{}),
	}
	tc.in.reset()
	tc.in.widen = tc.widenReply
	tc.out.reset()
	tc.out.widen = widenRequest
	return tc
}

// connected records a connect response: a granted session (id != 0) with
// its negotiated timeout. credit says whether the response proves the
// leader heard of the session, and lag how long before the connect
// request's send time to credit it.
//
// A new session is created by a transaction committed through a quorum,
// after the client sent its request: any later leader starts counting the
// session's timeout after that. A reconnection is revalidated by the server's
// leader (Learner.validateSession), which touches the session; but the
// leader may be one cut off from its quorum that has not yet stepped down,
// while its successor counts from its own election, up to 1.5 ticks before
// the old leader notices (see leaderProof for the same case): such a
// credit lags by the proof's gap, as a sync proof does.
func (w *wire) connected(sessionID int64, timeout time.Duration) (credit bool, lag int64) {
	if sessionID == 0 {
		return false, 0
	}
	if w.sessionID.CompareAndSwap(0, sessionID) {
		w.timeout.Store(int64(timeout))
		return true, 0
	}
	if w.sessionID.Load() == sessionID {
		w.timeout.Store(int64(timeout))
		return true, w.gap.Load()
	}
	return false, 0 // a new session on an old client: not ours to credit
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
// writes from one goroutine and reads from another; mu guards what they share.
type trackedConn struct {
	net.Conn
	w *wire

	mu      sync.Mutex
	sent    []int64                // send times of frames not yet answered, oldest first
	pending map[int32]watchRequest // by xid: requests that leave a watch if they succeed
	creates map[int32]struct{}     // by xid: creates not yet answered

	out framer // writer goroutine only
	in  framer // reader goroutine only
	// frames read so far on this connection; the first is the connect response.
	inFrames  int
	hold      replyHold // upstream.go
	closed    chan struct{}
	closeOnce sync.Once
}

// framer splits a byte stream into length-prefixed frames and keeps the
// first bytes of each body, which is all the tracking needs: 16 bytes, or
// as many as widen asks for once it has seen the first 8.
type framer struct {
	hdr     [4]byte
	hdrN    int
	left    int // body bytes still to come; -1 when reading a header
	body    int // this frame's body length
	kept    []byte
	keep    int
	widened bool
	widen   func(head []byte) int
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
			f.kept, f.keep, f.widened = f.kept[:0], 16, false
			start()
			if f.left == 0 {
				f.left = -1
				end(f)
			}
			continue
		}
		n := min(f.left, len(b))
		f.capture(b[:n])
		f.left -= n
		b = b[n:]
		if f.left == 0 {
			f.left = -1
			end(f)
		}
	}
}

func (f *framer) capture(chunk []byte) {
	for len(chunk) > 0 && len(f.kept) < f.keep {
		take := min(f.keep-len(f.kept), len(chunk))
		f.kept = append(f.kept, chunk[:take]...)
		chunk = chunk[take:]
		if !f.widened && len(f.kept) >= 8 && f.widen != nil {
			f.widened = true
			f.keep = max(f.keep, f.widen(f.kept[:8]))
		}
	}
}

// maxWatchPath bounds the paths the watch mirror reads: longer than any
// recipe path (recipes.MaxPathLen) under a chroot, with a node name.
const maxWatchPath = 8 << 10

// widenRequest keeps whole the requests that may leave a watch.
func widenRequest(head []byte) int {
	switch int32(binary.BigEndian.Uint32(head[4:8])) {
	case opExists, opGetData, opGetChildren, opGetChildren2:
		return 12 + maxWatchPath + 1
	}
	return 0
}

// widenReply keeps whole the notifications, for their paths, and the
// replies to creates, for the created path.
func (c *trackedConn) widenReply(head []byte) int {
	switch xid := int32(binary.BigEndian.Uint32(head[0:4])); {
	case xid == xidWatchEvent:
		return 28 + maxWatchPath
	case c.isCreate(xid):
		return 20 + maxWatchPath
	}
	return 0
}

func (c *trackedConn) Write(b []byte) (int, error) {
	at := c.w.now() // before the bytes leave: a send time may only be early
	c.out.feed(b, func() {
		c.mu.Lock()
		c.sent = append(c.sent, at)
		c.mu.Unlock()
	}, c.frameOut)
	n, err := c.Conn.Write(b)
	if err == nil {
		c.w.written(b)
	}
	return n, err
}

func (c *trackedConn) frameOut(f *framer) {
	if len(f.kept) >= 8 {
		switch int32(binary.BigEndian.Uint32(f.kept[4:8])) {
		case opSetWatches:
			c.hold.setWatchesWritten(int32(binary.BigEndian.Uint32(f.kept[0:4])))
			return
		case opSetAuth:
			c.hold.authWritten(int32(binary.BigEndian.Uint32(f.kept[0:4])))
			return
		case opCreate, opCreate2:
			c.createSent(int32(binary.BigEndian.Uint32(f.kept[0:4])))
			return
		}
	}
	if xid, r, ok := parseWatchRequest(f.kept); ok {
		c.mu.Lock()
		c.pending[xid] = r
		c.mu.Unlock()
	}
}

func (c *trackedConn) Read(b []byte) (int, error) {
	if err := c.hold.await(c.closed); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.in.feed(b[:n], func() {}, c.frameIn)
	}
	if err != nil && c.inFrames == 0 && !errors.Is(err, net.ErrClosed) {
		// E.g. a TLS server that rejected our certificate after the
		// handshake (TLS 1.3), or one that closed without a word.
		cerr := fmt.Errorf("%s: no answer to the connect request: %w", c.RemoteAddr(), err)
		c.w.connErr.Store(&cerr)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	c.w.connsMu.Lock()
	delete(c.w.conns, c)
	c.w.connsMu.Unlock()
	return c.Conn.Close()
}

func (c *trackedConn) frameIn(f *framer) {
	c.inFrames++
	p := f.kept[:min(len(f.kept), f.body)]
	credit, lag := c.w.creditReplies, int64(0)
	if c.inFrames == 1 {
		// connect response: protocolVersion, timeOut (ms), sessionId, passwd
		credit = false
		if len(p) >= 16 {
			timeout := time.Duration(int32(binary.BigEndian.Uint32(p[4:8]))) * time.Millisecond
			credit, lag = c.w.connected(int64(binary.BigEndian.Uint64(p[8:16])), timeout)
		}
		// The client re-sends the session's watches now, if it has any.
		if c.w.watches.any() {
			var floor int32
			read := c.w.xids.Load()
			if read != nil {
				floor = (*read)()
			}
			c.hold.start(time.Duration(c.w.timeout.Load())*2/3, floor, read != nil)
		}
	} else if len(p) >= 4 {
		xid := int32(binary.BigEndian.Uint32(p[:4]))
		if xid == xidWatchEvent {
			if typ, path, ok := parseEvent(p); ok {
				c.w.watches.fire(typ, path)
			}
			return // a watch notification answers nothing
		}
		c.hold.answered(xid)
		if len(p) >= 16 {
			c.createAnswered(p)
		}
	}
	c.w.lastReply.Store(c.w.now())
	c.mu.Lock()
	var at int64
	ok := len(c.sent) > 0
	if ok {
		at = c.sent[0]
		c.sent = c.sent[1:]
	}
	var r watchRequest
	watching := false
	if len(p) >= 16 {
		xid := int32(binary.BigEndian.Uint32(p[0:4]))
		if r, watching = c.pending[xid]; watching {
			delete(c.pending, xid)
		}
	}
	c.mu.Unlock()
	if watching {
		c.w.watches.answered(r, int32(binary.BigEndian.Uint32(p[12:16])))
	}
	if ok && credit {
		c.w.heard(at - lag)
	}
}
