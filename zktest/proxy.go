package zktest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// linkMode is what a proxy does with connections.
type linkMode int

const (
	forwarding linkMode = iota
	cutOff              // connections are closed
	blackholed          // connections stay open but nothing passes
)

// proxy forwards one loopback listener to one server, and can fail the way a
// network does: refuse (cut), swallow (blackhole) or delay.
type proxy struct {
	target  string
	ln      net.Listener
	onDial  func()
	latency atomic.Int64 // time.Duration added to each forwarded chunk

	mu     sync.Mutex
	mode   linkMode
	conns  map[*pconn]struct{}
	closed bool
	// hold is the one-way fault of a link between servers (peers.go): the
	// directions whose bytes are held back. While either is, new
	// connections are refused, as a TCP handshake needs both directions.
	hold direction
	// handshake, if set, rewrites what a connection sends first, before the
	// rest is forwarded untouched (election.go).
	handshake func(io.Reader) ([]byte, error)
	// dialPatience is how long a refused dial to the target is retried
	// before the accepted connection is closed. The connection was accepted
	// already, so a refusal cannot be passed on: where the dialer would
	// have retried a refusal but takes a close as a failure, as a follower
	// dialing a leader that is not listening yet does, the proxy retries
	// for it. Set before the first connection.
	dialPatience time.Duration

	wg sync.WaitGroup // accept loop and every connection's goroutines
}

func newProxy(target string, onDial func()) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{target: target, ln: ln, onDial: onDial, conns: make(map[*pconn]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or similar: back off instead of spinning;
			// the client's connect waits as it would on a busy host.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.onDial()
		p.wg.Add(1)
		go p.serve(c)
	}
}

// direction is a set of directions of a proxied connection.
type direction uint8

const (
	upstream   direction = 1 << iota // from the dialing side to the target
	downstream                       // from the target back
)

// way is one direction of a proxied connection.
type way struct {
	silent atomic.Bool // blackholed: bytes are read and dropped
	held   atomic.Bool // stalled: bytes wait until released
}

// pconn is one proxied client connection.
type pconn struct {
	client   net.Conn
	ctx      context.Context // done when the connection is torn down
	cancel   context.CancelFunc
	up, down way // client to target, and back

	released chan struct{} // closed and replaced when a way stops holding

	mu       sync.Mutex
	upstream net.Conn
	closed   bool
}

func (pc *pconn) close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closed {
		return
	}
	pc.closed = true
	pc.cancel()
	_ = pc.client.Close()
	if pc.upstream != nil {
		_ = pc.upstream.Close()
	}
}

func (pc *pconn) setHeld(d direction) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	release := pc.up.held.Load() && d&upstream == 0 || pc.down.held.Load() && d&downstream == 0
	pc.up.held.Store(d&upstream != 0)
	pc.down.held.Store(d&downstream != 0)
	if release {
		close(pc.released)
		pc.released = make(chan struct{})
	}
}

// waitReleased waits while w holds; false if the connection ends first.
func (pc *pconn) waitReleased(w *way) bool {
	for {
		pc.mu.Lock()
		held, ch := w.held.Load(), pc.released
		pc.mu.Unlock()
		if !held {
			return true
		}
		select {
		case <-ch:
		case <-pc.ctx.Done():
			return false
		}
	}
}

// setUpstream attaches the server side unless the connection was torn down
// while dialing.
func (pc *pconn) setUpstream(c net.Conn) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closed {
		_ = c.Close()
		return false
	}
	pc.upstream = c
	return true
}

func (p *proxy) serve(client net.Conn) {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	pc := &pconn{client: client, ctx: ctx, cancel: cancel}
	p.mu.Lock()
	if p.closed || p.mode == cutOff || p.hold != 0 {
		p.mu.Unlock()
		cancel()
		_ = client.Close()
		return
	}
	pc.released = make(chan struct{})
	pc.up.silent.Store(p.mode == blackholed)
	pc.down.silent.Store(p.mode == blackholed)
	handshake, patience := p.handshake, p.dialPatience
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
		pc.close()
	}()

	if pc.up.silent.Load() {
		// Accepted during a partition: the client's bytes vanish and it
		// hears nothing back until Heal, Cut or Close ends the connection.
		drain(client)
		<-pc.ctx.Done()
		return
	}
	up, err := p.dial(pc.ctx, patience)
	if err != nil {
		// The server is down: the client sees its connection close, as it
		// would see a refused one.
		return
	}
	if !pc.setUpstream(up) {
		return
	}
	var src io.Reader = client
	if handshake != nil {
		src = &rewriter{r: client, rewrite: handshake}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.pipe(pc, up, client, &pc.down)
	}()
	p.pipe(pc, src, up, &pc.up)
	wg.Wait()
}

// dial connects to the target, trying again for up to patience.
func (p *proxy) dial(ctx context.Context, patience time.Duration) (net.Conn, error) {
	var d net.Dialer
	deadline := time.Now().Add(patience)
	for {
		c, err := d.DialContext(ctx, "tcp", p.target)
		if err == nil || !time.Now().Before(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// drain reads and drops everything until the connection fails.
func drain(c net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst one way, dropping what it reads while the way is
// silent and holding it back while the way holds. A separate writer delays
// each chunk by the latency in force when it was read, in order. When src
// ends, what was read is still delivered before the whole connection is torn
// down; a silent way instead keeps the connection up until Heal, Cut or
// Close, because in a real partition the other side would not see this one
// go away.
func (p *proxy) pipe(pc *pconn, src io.Reader, dst io.Writer, w *way) {
	q := make(chan chunk, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if w.silent.Load() {
				<-pc.ctx.Done()
			}
			pc.close()
		}()
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for c := range q {
			if wait := time.Until(c.due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-pc.ctx.Done():
					return
				}
			}
			if w.silent.Load() {
				continue
			}
			if !pc.waitReleased(w) {
				return
			}
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 && !w.silent.Load() {
			select {
			case q <- chunk{buf[:n], time.Now().Add(time.Duration(p.latency.Load()))}:
			case <-pc.ctx.Done():
			}
		}
		if err != nil {
			break
		}
	}
	close(q)
	<-done
}

func (p *proxy) setMode(m linkMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	for pc := range p.conns {
		switch m {
		case cutOff:
			pc.close()
		case blackholed:
			pc.up.silent.Store(true)
			pc.down.silent.Store(true)
		case forwarding:
			// A connection silent through a partition would have timed
			// out on both ends by now; the client must reconnect.
			if pc.up.silent.Load() || pc.down.silent.Load() {
				pc.close()
			}
		}
	}
}

// setHold holds back the bytes of existing connections in the given
// directions, and releases the others, and refuses new connections while
// any direction holds. Held bytes are delivered in order on release, as TCP
// retransmits through a partition shorter than its own timeouts; it is the
// servers' timeouts, not the network's, that end their connections.
func (p *proxy) setHold(d direction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = d
	for pc := range p.conns {
		pc.setHeld(d)
	}
}

func (p *proxy) setDialPatience(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dialPatience = d
}

// setHandshake installs a rewrite of what each new connection sends first.
func (p *proxy) setHandshake(f func(io.Reader) ([]byte, error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handshake = f
}

// rewriter passes what rewrite makes of the start of r, then the rest of r.
type rewriter struct {
	r       io.Reader
	rewrite func(io.Reader) ([]byte, error)
	done    bool
	head    []byte
}

func (w *rewriter) Read(b []byte) (int, error) {
	if !w.done {
		w.done = true
		head, err := w.rewrite(w.r)
		if err != nil {
			return 0, err
		}
		w.head = head
	}
	if len(w.head) > 0 {
		n := copy(b, w.head)
		w.head = w.head[n:]
		return n, nil
	}
	return w.r.Read(b)
}

func (p *proxy) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return
	}
	p.closed = true
	_ = p.ln.Close()
	for pc := range p.conns {
		pc.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
