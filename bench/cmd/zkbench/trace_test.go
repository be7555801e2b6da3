package main

import (
	"encoding/binary"
	"testing"
)

func frame(xid, op int32, body int) []byte {
	b := make([]byte, 12+body)
	binary.BigEndian.PutUint32(b[0:], uint32(8+body))
	binary.BigEndian.PutUint32(b[4:], uint32(xid))
	binary.BigEndian.PutUint32(b[8:], uint32(op))
	return b
}

// TestFramerSplitsAnywhere feeds two request frames cut at every byte
// boundary: the headers must come out whole and in order whatever the cut.
func TestFramerSplitsAnywhere(t *testing.T) {
	stream := append(frame(7, 1, 30), frame(8, 12, 5)...)
	for cut := range len(stream) + 1 {
		var got []int32
		f := framer{hdr: 12}
		emit := func(h []byte) { got = append(got, int32(binary.BigEndian.Uint32(h[4:8]))) }
		f.feed(stream[:cut], emit)
		f.feed(stream[cut:], emit)
		if len(got) != 2 || got[0] != 7 || got[1] != 8 {
			t.Fatalf("cut at %d: xids %v, want [7 8]", cut, got)
		}
	}
}

func TestShapeOf(t *testing.T) {
	req := func(xid, op int32) wireEvent { return wireEvent{request: true, xid: xid, op: op} }
	reply := func(xid int32) wireEvent { return wireEvent{xid: xid} }
	for _, c := range []struct {
		name    string
		ev      []wireEvent
		pattern string
		waits   int
	}{
		{"pipelined", []wireEvent{req(1, 1), req(2, 12), reply(1), reply(2), req(3, 2), reply(3)},
			"[create getChildren] [delete]", 2},
		{"sequential", []wireEvent{req(1, 1), reply(1), req(2, 12), reply(2), req(3, 2), reply(3)},
			"[create] [getChildren] [delete]", 3},
		{"ping ignored", []wireEvent{req(1, 1), req(-2, 11), reply(-2), req(2, 2), reply(1), reply(2)},
			"[create delete]", 1},
		{"watch event is heard", []wireEvent{req(1, 2), reply(1), reply(-1), req(2, 12), reply(2)},
			"[delete] [getChildren]", 2},
	} {
		s := shapeOf(c.ev)
		if s.pattern != c.pattern || s.waits != c.waits {
			t.Errorf("%s: %q (%d waits), want %q (%d)", c.name, s.pattern, s.waits, c.pattern, c.waits)
		}
	}
}
