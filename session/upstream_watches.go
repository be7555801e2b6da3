package session

import (
	"encoding/binary"
	"sync"
)

// The client's watch table, mirrored from the frames on the wire in the
// order the client itself sees them, for the reply hold (upstream.go): it
// is needed only while the client holds watches.

// watchKind is the client's kind of watch: what an event clears.
type watchKind uint8

const (
	watchData watchKind = iota
	watchExist
	watchChild
)

type watchKey struct {
	path string
	kind watchKind
}

// Opcodes and event types of ZooKeeper's protocol (zookeeper.jute).
const (
	opExists       = 3
	opGetData      = 4
	opSetData      = 5
	opGetChildren  = 8
	opGetChildren2 = 12
	opSetAuth      = 100
	opSetWatches   = 101

	xidWatchEvent = -1

	eventNodeCreated         = 1
	eventNodeDeleted         = 2
	eventNodeDataChanged     = 3
	eventNodeChildrenChanged = 4

	errNoNode = -101
)

// watchTable mirrors the client's watches: those the server confirmed, until
// an event clears them. The client keeps watches across reconnects and drops
// them only with the session, which ends the epoch and this table with it.
type watchTable struct {
	mu   sync.Mutex
	live map[watchKey]struct{}
}

func (t *watchTable) any() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.live) > 0
}

func (t *watchTable) add(k watchKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live == nil {
		t.live = make(map[watchKey]struct{})
	}
	t.live[k] = struct{}{}
}

// fire clears what an event of type typ on path clears in the client.
func (t *watchTable) fire(typ int32, path string) {
	var kinds []watchKind
	switch typ {
	case eventNodeCreated:
		kinds = []watchKind{watchExist}
	case eventNodeDataChanged:
		kinds = []watchKind{watchExist, watchData}
	case eventNodeChildrenChanged:
		kinds = []watchKind{watchChild}
	case eventNodeDeleted:
		kinds = []watchKind{watchExist, watchData, watchChild}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range kinds {
		delete(t.live, watchKey{path, k})
	}
}

// watchRequest is a request that leaves a watch if it succeeds.
type watchRequest struct {
	path   string
	opcode int32
}

// parseWatchRequest reads a request body (header and all): ok when it asks
// for a watch. Requests whose path did not fit in body are not recognised;
// see framer.keep.
func parseWatchRequest(body []byte) (xid int32, r watchRequest, ok bool) {
	if len(body) < 12 {
		return 0, r, false
	}
	xid = int32(binary.BigEndian.Uint32(body[0:4]))
	r.opcode = int32(binary.BigEndian.Uint32(body[4:8]))
	switch r.opcode {
	case opExists, opGetData, opGetChildren, opGetChildren2:
	default:
		return 0, r, false
	}
	n := int(int32(binary.BigEndian.Uint32(body[8:12])))
	if n < 0 || len(body) < 12+n+1 {
		return 0, r, false
	}
	r.path = string(body[12 : 12+n])
	return xid, r, body[12+n] != 0
}

// answered records the reply to r, as the client's receive loop does.
func (t *watchTable) answered(r watchRequest, errCode int32) {
	switch {
	case r.opcode == opExists && errCode == errNoNode:
		t.add(watchKey{r.path, watchExist})
	case errCode != 0:
	case r.opcode == opExists, r.opcode == opGetData:
		t.add(watchKey{r.path, watchData})
	default:
		t.add(watchKey{r.path, watchChild})
	}
}

// parseEvent reads a notification body: header (xid -1, zxid, err), then
// the event's type, state and path.
func parseEvent(body []byte) (typ int32, path string, ok bool) {
	if len(body) < 28 {
		return 0, "", false
	}
	typ = int32(binary.BigEndian.Uint32(body[16:20]))
	n := int(int32(binary.BigEndian.Uint32(body[24:28])))
	if n < 0 || len(body) < 28+n {
		return 0, "", false
	}
	return typ, string(body[28 : 28+n]), true
}
