package zktest

import (
	"encoding/binary"
	"io"
)

// ZooKeeper's election connections (QuorumCnxManager) open with an initial
// message: a negative protocol version, the sender's sid, and the sender's
// own election address as "host:port" (several joined by '|' in version 2).
// Only the higher sid keeps a connection: when a lower sid dials a higher
// one, the higher closes it and dials back the address the message gave,
// not the one in its own zoo.cfg. That address is the lower server's real
// port, so the connection back would bypass the proxies. The election
// proxies therefore rewrite it to the proxy that carries the way back.

// maxElectionAddr bounds the address field; ZooKeeper refuses larger ones
// too, so anything bigger is not an initial message and passes untouched.
const maxElectionAddr = 2048

// advertise returns a handshake rewrite that replaces the election address
// of an initial message with addr. A connection that opens otherwise (a
// server of before 3.4.6 sends its sid alone, positive) passes as it is.
func advertise(addr string) func(io.Reader) ([]byte, error) {
	return func(r io.Reader) ([]byte, error) {
		var head [20]byte // version, sid, address length
		if _, err := io.ReadFull(r, head[:8]); err != nil {
			return nil, err
		}
		if int64(binary.BigEndian.Uint64(head[:8])) >= 0 {
			return head[:8], nil
		}
		if _, err := io.ReadFull(r, head[8:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(head[16:])
		if n > maxElectionAddr {
			return head[:], nil
		}
		old := make([]byte, n)
		if _, err := io.ReadFull(r, old); err != nil {
			return nil, err
		}
		out := make([]byte, 0, 20+len(addr))
		out = append(out, head[:16]...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(addr)))
		return append(out, addr...), nil
	}
}
