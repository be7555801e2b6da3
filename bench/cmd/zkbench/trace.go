package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tracer sees every frame on every client connection of the run, so that
// the report can say how many requests an operation sends and how many
// times it waits for the server, as measured rather than as read from code
// that others keep changing. It records only while armed; the parsing that
// keeps it in step with the frame boundaries always runs, and costs next to
// nothing next to a ZooKeeper round trip. Both systems' connections go
// through it alike.
type tracer struct {
	armed  atomic.Bool
	mu     sync.Mutex
	events []wireEvent
}

type wireEvent struct {
	request bool  // client → server; else server → client
	xid     int32 // > 0: a request or its reply; -1: a watch event
	op      int32 // requests only
}

// dial is a zk.Dialer, for go-zookeeper and session.Config alike.
func (t *tracer) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	return &tracedConn{Conn: c, t: t, out: framer{hdr: 12}, in: framer{hdr: 8}}, nil
}

// window records the frames of one operation; done returns them.
func (t *tracer) window() (done func() []wireEvent) {
	t.mu.Lock()
	t.events = nil
	t.mu.Unlock()
	t.armed.Store(true)
	return func() []wireEvent {
		t.armed.Store(false)
		t.mu.Lock()
		defer t.mu.Unlock()
		ev := t.events
		t.events = nil
		return ev
	}
}

func (t *tracer) record(e wireEvent) {
	if !t.armed.Load() {
		return
	}
	t.mu.Lock()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

type tracedConn struct {
	net.Conn
	t       *tracer
	wmu     sync.Mutex
	out, in framer
}

// Write records the requests before they leave: once they are written, the
// reply can be back, and the operation's window closed, before this
// goroutine runs again, and a request recorded after its reply (or not at
// all) would hide a round trip. A failed write ends the connection, so
// frames counted but not sent do not matter.
func (c *tracedConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.out.feed(b, func(h []byte) {
		c.t.record(wireEvent{request: true, xid: int32(binary.BigEndian.Uint32(h[4:8])), op: int32(binary.BigEndian.Uint32(h[8:12]))})
	})
	return c.Conn.Write(b)
}

func (c *tracedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.feed(b[:n], func(h []byte) {
		c.t.record(wireEvent{xid: int32(binary.BigEndian.Uint32(h[4:8]))})
	})
	return n, err
}

// framer splits ZooKeeper's length-prefixed stream into frames and hands
// over the first hdr bytes of each: length and xid (and, for requests, the
// opcode). The handshake's frames parse as harmless nonsense.
type framer struct {
	hdr  int
	buf  [12]byte
	have int
	skip int
}

func (f *framer) feed(b []byte, frame func(h []byte)) {
	for len(b) > 0 {
		if f.skip > 0 {
			n := min(f.skip, len(b))
			f.skip -= n
			b = b[n:]
			continue
		}
		n := copy(f.buf[f.have:f.hdr], b)
		f.have += n
		b = b[n:]
		if f.have < f.hdr {
			continue
		}
		size := int(binary.BigEndian.Uint32(f.buf[:4]))
		// A frame shorter than the header (a bare ping reply is not)
		// would put us out of step: resynchronise at its end.
		f.skip = max(0, size-(f.hdr-4))
		f.have = 0
		frame(f.buf[:f.hdr])
	}
}

// opNames names the opcodes on the wire. The Java client creates with
// create2 (15), which answers with the new node's stat, and removes a
// watcher with checkWatches (17).
var opNames = map[int32]string{1: "create", 2: "delete", 3: "exists", 4: "getData", 5: "setData",
	8: "getChildren", 9: "sync", 12: "getChildren", 13: "check", 14: "multi", 15: "create2",
	17: "checkWatches", 18: "removeWatches", 19: "createContainer", 106: "addWatch"}

// shape is what one operation did on the wire.
type shape struct {
	requests int
	waits    int    // request bursts sent after hearing from the server
	pattern  string // e.g. "[create getChildren] [getData delete]": one bracket per burst
}

// shapeOf reads a window. A new burst starts with the first request sent
// after any reply or watch event has arrived: a client that needs an
// answer before its next request (a sequential round trip) always starts
// one, so waits is at least the number of sequential round trips, and
// exceeds it only when an unrelated concurrent request (zkcoord's lease
// monitor) happens to straddle a reply.
func shapeOf(ev []wireEvent) shape {
	var (
		s      shape
		bursts [][]string
		heard  = true
	)
	for _, e := range ev {
		switch {
		case e.xid == -2 || e.xid == -8 || e.xid == -4: // pings, set-watches, auth: not the operation's
		case e.request && e.xid > 0:
			if heard {
				bursts = append(bursts, nil)
				heard = false
			}
			name := opNames[e.op]
			if name == "" {
				name = fmt.Sprintf("op%d", e.op)
			}
			bursts[len(bursts)-1] = append(bursts[len(bursts)-1], name)
			s.requests++
		case !e.request:
			heard = true
		}
	}
	s.waits = len(bursts)
	var parts []string
	for _, b := range bursts {
		parts = append(parts, "["+strings.Join(b, " ")+"]")
	}
	s.pattern = strings.Join(parts, " ")
	return s
}

// shapes sums up the traced windows of one kind of operation.
type shapes struct {
	n           int
	minWaits    int
	medWaits    int
	medRequests int
	pattern     string // the most frequent
	share       int    // windows that showed it
}

func summarizeShapes(ss []shape) shapes {
	if len(ss) == 0 {
		return shapes{}
	}
	waits := make([]int, len(ss))
	reqs := make([]int, len(ss))
	count := map[string]int{}
	for i, s := range ss {
		waits[i], reqs[i] = s.waits, s.requests
		count[s.pattern]++
	}
	sort.Ints(waits)
	sort.Ints(reqs)
	out := shapes{n: len(ss), minWaits: waits[0], medWaits: waits[len(waits)/2], medRequests: reqs[len(reqs)/2]}
	for p, c := range count {
		if c > out.share || (c == out.share && p < out.pattern) {
			out.pattern, out.share = p, c
		}
	}
	return out
}
