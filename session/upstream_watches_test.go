package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"
)

func request(xid, opcode int32, path string, watch bool) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(xid))
	b = binary.BigEndian.AppendUint32(b, uint32(opcode))
	b = binary.BigEndian.AppendUint32(b, uint32(len(path)))
	b = append(b, path...)
	if watch {
		return frame(append(b, 1))
	}
	return frame(append(b, 0))
}

func replyErr(xid, errCode int32) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(xid))
	b = binary.BigEndian.AppendUint64(b, 9)
	b = binary.BigEndian.AppendUint32(b, uint32(errCode))
	return frame(append(b, make([]byte, 20)...)) // a body the mirror ignores
}

func event(typ int32, path string) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0xffffffff) // xid -1
	b = binary.BigEndian.AppendUint64(b, 0xffffffffffffffff)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(typ))
	b = binary.BigEndian.AppendUint32(b, 3) // SyncConnected
	b = binary.BigEndian.AppendUint32(b, uint32(len(path)))
	return frame(append(b, path...))
}

// The mirror follows the client's rules: a watch exists once the server
// confirmed the request, and an event clears what it clears in the client.
func TestWatchMirror(t *testing.T) {
	long := "/" + string(bytes.Repeat([]byte("x"), 3000))
	for _, chunk := range []int{0, 1, 5, 13} {
		var in bytes.Buffer
		in.Write(connectResponse(4000, 0x77))
		in.Write(replyErr(1, 0))         // getData /a with a watch: data watch
		in.Write(replyErr(2, errNoNode)) // getData /missing: no watch
		in.Write(replyErr(3, 0))         // getChildren2 /dir: child watch
		in.Write(replyErr(4, 0))         // getData /b without a watch
		in.Write(replyErr(5, errNoNode)) // exists /later: exist watch
		in.Write(replyErr(6, 0))         // getData of a long path
		w := newWire(nil)
		c := newTrackedConn(&scriptConn{r: bytes.NewReader(in.Bytes()), chunk: chunk}, w)
		for _, f := range [][]byte{
			request(0, 0, "", false), // the connect request's place in the queue
			request(1, opGetData, "/a", true),
			request(2, opGetData, "/missing", true),
			request(3, opGetChildren2, "/dir", true),
			request(4, opGetData, "/b", false),
			request(5, opExists, "/later", true),
			request(6, opGetData, long, true),
		} {
			for len(f) > 0 { // split writes too
				n := min(len(f), max(chunk, 1)*7)
				c.Write(f[:n])
				f = f[n:]
			}
		}
		buf := make([]byte, 64)
		for c.inFrames < 7 {
			if _, err := c.Read(buf); err != nil {
				t.Fatalf("chunk %d: %v", chunk, err)
			}
		}
		want := map[watchKey]struct{}{
			{"/a", watchData}: {}, {"/dir", watchChild}: {}, {"/later", watchExist}: {}, {long, watchData}: {},
		}
		if !equalKeys(w.watches.live, want) {
			t.Fatalf("chunk %d: mirror %v, want %v", chunk, keys(w.watches.live), keys(want))
		}
		w.watches.fire(eventNodeDataChanged, "/a")
		w.watches.fire(eventNodeCreated, "/later")
		w.watches.fire(eventNodeDeleted, long)
		if !equalKeys(w.watches.live, map[watchKey]struct{}{{"/dir", watchChild}: {}}) {
			t.Fatalf("chunk %d: after events, mirror %v", chunk, keys(w.watches.live))
		}
		// An event read off the wire clears it too.
		c2 := newTrackedConn(&scriptConn{r: bytes.NewReader(append(connectResponse(4000, 0x77), event(eventNodeChildrenChanged, "/dir")...))}, w)
		for c2.inFrames < 2 {
			if _, err := c2.Read(buf); err != nil {
				t.Fatalf("chunk %d: %v", chunk, err)
			}
			if c2.hold.active.Load() { // watches were live at connect: let the read pass
				c2.hold.setWatchesWritten(0)
			}
		}
		if w.watches.any() {
			t.Fatalf("chunk %d: mirror %v after the child event", chunk, keys(w.watches.live))
		}
	}
}

// With watches set, a new connection's replies wait for the set-watches
// request; without, they flow at once.
func TestRepliesWaitForSetWatches(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	w := newWire(nil)
	w.watches.add(watchKey{"/a", watchData})
	c := newTrackedConn(client, w)
	defer c.Close()
	go server.Write(append(connectResponse(4000, 0x5), replyErr(1, 0)...))
	buf := make([]byte, 4096)
	for c.inFrames < 1 {
		if _, err := c.Read(buf[:4]); err != nil {
			t.Fatal(err)
		}
	}
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		read <- err
	}()
	select {
	case err := <-read:
		t.Fatalf("a reply was read before the set-watches request went out (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	go func() { // the server's side of the pipe must drain the write
		b := make([]byte, 64)
		server.Read(b)
	}()
	if _, err := c.Write(request(9, opSetWatches, "", false)); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}

	// No watches: nothing waits.
	w2 := newWire(nil)
	server2, client2 := net.Pipe()
	defer server2.Close()
	c2 := newTrackedConn(client2, w2)
	defer c2.Close()
	go server2.Write(append(connectResponse(4000, 0x6), replyErr(1, 0)...))
	for c2.inFrames < 2 {
		if _, err := c2.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

// A set-watches built for an earlier connection, queued before this one's
// hold began, does not end the hold: only one numbered after it does. (An
// earlier connection that dropped before writing its set-watches leaves
// it queued; ending the hold on it let go-zookeeper's receive loop run
// before the connect loop had read lastZxid for this connection.)
func TestHoldEndsOnlyOnThisConnectionsSetWatches(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	go func() { // drain what the client writes
		b := make([]byte, 4096)
		for {
			if _, err := server.Read(b); err != nil {
				return
			}
		}
	}()
	w := newWire(nil)
	w.watches.add(watchKey{"/a", watchData})
	counter := int32(41) // the client's request counter at connect
	read := func() int32 { return counter }
	w.xids.Store(&read)
	c := newTrackedConn(client, w)
	defer c.Close()
	go server.Write(append(connectResponse(4000, 0x5), replyErr(43, 0)...))
	buf := make([]byte, 4096)
	for c.inFrames < 1 {
		if _, err := c.Read(buf[:4]); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		got <- err
	}()
	for _, stale := range []int32{40, 41} {
		if _, err := c.Write(request(stale, opSetWatches, "", false)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-got:
		t.Fatalf("a reply was read after an earlier connection's set-watches (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := c.Write(request(42, opSetWatches, "", false)); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// Request numbers are 31 bits and wrap.
func TestXidAfter(t *testing.T) {
	for _, c := range []struct {
		x, floor int32
		want     bool
	}{
		{42, 41, true}, {41, 41, false}, {40, 41, false},
		{0, 0x7fffffff, true}, {3, 0x7ffffff0, true}, {0x7ffffff0, 3, false},
	} {
		if got := xidAfter(c.x, c.floor); got != c.want {
			t.Errorf("xidAfter(%d, %d) = %v, want %v", c.x, c.floor, got, c.want)
		}
	}
}

// A client that never writes set-watches loses the connection, unread,
// once its own receive timeout has passed: letting the replies through
// instead would let go-zookeeper's receive loop write lastZxid unordered
// with the read that builds set-watches, the data race the hold exists for.
func TestHeldRepliesAreNeverReleasedUnordered(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	w := newWire(nil)
	w.watches.add(watchKey{"/a", watchData})
	c := newTrackedConn(client, w)
	defer c.Close()
	const timeoutMs = 300 // the hold's limit: two thirds, 200 ms
	go server.Write(append(connectResponse(timeoutMs, 0x5), replyErr(1, 0)...))
	buf := make([]byte, 4096)
	for c.inFrames < 1 {
		if _, err := c.Read(buf[:4]); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	n, err := c.Read(buf)
	if !errors.Is(err, errHoldExpired) || n != 0 {
		t.Fatalf("read %d bytes, err %v: want the connection dropped unread", n, err)
	}
	if held := time.Since(start); held < 150*time.Millisecond {
		t.Fatalf("dropped after %v, before the client's receive timeout", held)
	}
	if n, err := c.Read(buf); !errors.Is(err, errHoldExpired) || n != 0 {
		t.Fatalf("a later read got %d bytes, err %v", n, err)
	}
	if c.inFrames != 1 {
		t.Fatalf("%d frames read: a held reply reached the client", c.inFrames)
	}
}

func equalKeys(a, b map[watchKey]struct{}) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func keys(m map[watchKey]struct{}) []watchKey {
	var out []watchKey
	for k := range m {
		if len(k.path) > 20 {
			k.path = k.path[:20] + "..."
		}
		out = append(out, k)
	}
	return out
}
