package session

import (
	"encoding/binary"
	"sync"
)

// A create's reply carries, in its header, the zxid the server had applied
// when it answered. Servers apply writes one at a time and read that zxid
// right after applying the create, before the next write (3.5's
// CommitProcessor lets nothing run beside a commit; from 3.6 it applies
// writes inline in its own thread; FinalRequestProcessor reads
// getDataTreeLastProcessedZxid right after applyRequest): so for a create
// that succeeded it is the new node's czxid. Capturing it on the wire spares
// the read that would otherwise fetch it (go-zookeeper drops the header).

const (
	opCreate  = 1
	opCreate2 = 15
)

// czxids maps the path of each node we created, as the server returned it,
// to its czxid, until the create's caller takes it.
type czxids struct {
	mu sync.Mutex
	m  map[string]int64
}

// maxUntaken bounds the entries whose caller never came (a reply matched by
// no request after a reconnect): past it, the table starts afresh, and a
// caller that finds nothing reads the czxid instead.
const maxUntaken = 4096

func (t *czxids) put(path string, zxid int64) {
	t.mu.Lock()
	if t.m == nil || len(t.m) >= maxUntaken {
		t.m = make(map[string]int64)
	}
	t.m[path] = zxid
	t.mu.Unlock()
}

// take returns the czxid recorded for path, or 0.
func (t *czxids) take(path string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	z, ok := t.m[path]
	if ok {
		delete(t.m, path)
	}
	return z
}

// createSent records that xid is a create (or create2), whose reply the
// reader must keep whole enough to parse.
func (c *trackedConn) createSent(xid int32) {
	c.mu.Lock()
	c.creates[xid] = struct{}{}
	c.mu.Unlock()
}

func (c *trackedConn) isCreate(xid int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.creates[xid]
	return ok
}

// createAnswered parses a create's reply: xid, zxid, err, then the path
// (an int32 length and its bytes).
func (c *trackedConn) createAnswered(p []byte) {
	xid := int32(binary.BigEndian.Uint32(p[0:4]))
	c.mu.Lock()
	_, ok := c.creates[xid]
	delete(c.creates, xid)
	c.mu.Unlock()
	if !ok || len(p) < 20 || binary.BigEndian.Uint32(p[12:16]) != 0 {
		return
	}
	n := int(int32(binary.BigEndian.Uint32(p[16:20])))
	if n <= 0 || 20+n > len(p) {
		return
	}
	c.w.czxids.put(string(p[20:20+n]), int64(binary.BigEndian.Uint64(p[4:12])))
}
