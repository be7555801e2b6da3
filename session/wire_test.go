package session

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// scriptConn is a net.Conn whose reads come from a script and whose writes
// are discarded.
type scriptConn struct {
	net.Conn
	r *bytes.Reader
	// chunk limits each Read, to exercise frames split across reads.
	chunk int
}

func (s *scriptConn) Write(b []byte) (int, error) { return len(b), nil }
func (s *scriptConn) Read(b []byte) (int, error) {
	if s.chunk > 0 && len(b) > s.chunk {
		b = b[:s.chunk]
	}
	return s.r.Read(b)
}

func frame(body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(out, body...)
}

func connectResponse(timeoutMs int32, session int64) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0) // protocol version
	b = binary.BigEndian.AppendUint32(b, uint32(timeoutMs))
	b = binary.BigEndian.AppendUint64(b, uint64(session))
	b = binary.BigEndian.AppendUint32(b, 16)
	return frame(append(b, make([]byte, 16)...))
}

func reply(xid int32) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(xid))
	b = binary.BigEndian.AppendUint64(b, 7) // zxid
	b = binary.BigEndian.AppendUint32(b, 0) // err
	return frame(b)
}

func TestWireCreditsSendTimesInOrder(t *testing.T) {
	for _, chunk := range []int{0, 1, 3, 7} {
		var in bytes.Buffer
		in.Write(connectResponse(4000, 0x1234))
		in.Write(reply(-1)) // a notification: credits nothing
		in.Write(reply(1))
		in.Write(reply(-2)) // a ping reply
		w := newWire(nil)
		w.creditReplies = true // the framing under test: every answer credits its request
		c := newTrackedConn(&scriptConn{r: bytes.NewReader(in.Bytes()), chunk: chunk}, w)

		// Three frames out, the third split over two writes.
		for _, f := range [][]byte{frame(make([]byte, 40)), frame(make([]byte, 12))} {
			if _, err := c.Write(f); err != nil {
				t.Fatal(err)
			}
		}
		third := frame(make([]byte, 8))
		c.Write(third[:2])
		c.Write(third[2:])
		c.mu.Lock()
		sent := append([]int64(nil), c.sent...)
		c.mu.Unlock()
		if len(sent) != 3 {
			t.Fatalf("chunk %d: %d frames counted out, want 3", chunk, len(sent))
		}

		buf := make([]byte, 64)
		want := []int64{sent[0], sent[0], sent[1], sent[2]}
		for c.inFrames < len(want) {
			if _, err := c.Read(buf); err != nil {
				t.Fatalf("chunk %d: read: %v", chunk, err)
			}
			if c.inFrames == 0 {
				continue
			}
			if got := w.lastHeard.Load(); got != want[c.inFrames-1] {
				t.Fatalf("chunk %d after frame %d: lastHeard %d, want %d", chunk, c.inFrames, got, want[c.inFrames-1])
			}
		}
		if got := time.Duration(w.timeout.Load()); got != 4*time.Second {
			t.Fatalf("negotiated timeout %v, want 4s", got)
		}
		if w.sessionID.Load() != 0x1234 {
			t.Fatalf("session id %x", w.sessionID.Load())
		}
	}
}

func TestWireIgnoresAnotherSession(t *testing.T) {
	w := newWire(nil)
	w.gap.Store(int64(time.Second))
	if ok, lag := w.connected(1, time.Second); !ok || lag != 0 {
		t.Fatalf("a new session: credited %v with lag %v, want true, 0", ok, lag)
	}
	if ok, _ := w.connected(2, time.Second); ok {
		t.Fatal("a different session was credited")
	}
	if ok, _ := w.connected(0, time.Second); ok {
		t.Fatal("an expired session (id 0) was credited")
	}
	ok, lag := w.connected(1, 2*time.Second)
	if !ok || time.Duration(w.timeout.Load()) != 2*time.Second {
		t.Fatal("a reconnect of the same session must update the timeout")
	}
	if lag != int64(time.Second) {
		t.Fatalf("a reconnect credited with lag %v, want the proof's gap", time.Duration(lag))
	}
}

// Without the control, replies (a follower may give them alone) credit
// nothing: only the connect response does.
func TestWireCreditsOnlyTheConnectResponse(t *testing.T) {
	var in bytes.Buffer
	in.Write(connectResponse(4000, 0x1234))
	in.Write(reply(1))
	in.Write(reply(-2))
	w := newWire(nil)
	c := newTrackedConn(&scriptConn{r: bytes.NewReader(in.Bytes())}, w)
	for range 3 {
		if _, err := c.Write(frame(make([]byte, 8))); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	first := c.sent[0]
	c.mu.Unlock()
	buf := make([]byte, 64)
	for c.inFrames < 3 {
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.lastHeard.Load(); got != first {
		t.Fatalf("lastHeard %d, want the connect request's send time %d", got, first)
	}
	if w.lastReply.Load() == 0 {
		t.Fatal("lastReply not recorded")
	}
}

func TestDeadlineNeedsContact(t *testing.T) {
	w := newWire(nil)
	quarter := func(d time.Duration) time.Duration { return d / 4 }
	if _, ok := w.deadline(quarter); ok {
		t.Fatal("deadline without any contact")
	}
	w.connected(1, 4*time.Second)
	w.heard(int64(time.Second))
	at, ok := w.deadline(quarter)
	if !ok || at != 4*time.Second {
		t.Fatalf("deadline %v %v, want 1s+4s-1s", at, ok)
	}
	w.heard(int64(time.Millisecond)) // an older send time never moves it back
	if at2, _ := w.deadline(quarter); at2 != at {
		t.Fatalf("deadline moved back to %v", at2)
	}
}
