package zktest

import (
	"context"
	"errors"
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

// pconn is one proxied client connection.
type pconn struct {
	client net.Conn
	ctx    context.Context // done when the connection is torn down
	cancel context.CancelFunc
	silent atomic.Bool // blackholed: bytes are read and dropped

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
	if p.closed || p.mode == cutOff {
		p.mu.Unlock()
		cancel()
		_ = client.Close()
		return
	}
	pc.silent.Store(p.mode == blackholed)
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
		pc.close()
	}()

	if pc.silent.Load() {
		// Accepted during a partition: the client's bytes vanish and it
		// hears nothing back until Heal, Cut or Close ends the connection.
		drain(client)
		<-pc.ctx.Done()
		return
	}
	var d net.Dialer
	up, err := d.DialContext(pc.ctx, "tcp", p.target)
	if err != nil {
		// The server is down: the client sees its connection close, as it
		// would see a refused one.
		return
	}
	if !pc.setUpstream(up) {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.pipe(pc, up, client)
	}()
	p.pipe(pc, client, up)
	wg.Wait()
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

// pipe copies src to dst. A separate writer delays each chunk by the latency
// in force when it was read, in order. When src ends, what was read is still
// delivered before the whole connection is torn down; a silent connection
// instead stays up (silent) until Heal, Cut or Close, because in a real
// partition the client would not see the other side go away.
func (p *proxy) pipe(pc *pconn, src, dst net.Conn) {
	q := make(chan chunk, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if pc.silent.Load() {
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
			if pc.silent.Load() {
				continue
			}
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 && !pc.silent.Load() {
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
			pc.silent.Store(true)
		case forwarding:
			// A connection silent through a partition would have timed
			// out on both ends by now; the client must reconnect.
			if pc.silent.Load() {
				pc.close()
			}
		}
	}
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
