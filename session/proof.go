package session

// leaderProof turns a series of syncs answered on one connection into
// instants at which the ensemble's leader certainly held the session alive.
//
// Only the leader expires sessions, and it learns that a session connected
// to a follower is alive from that follower's replies to its pings, which
// carry the sessions the follower heard from since its previous reply. A
// follower cut off from the leader goes on answering its clients' pings
// (and reads) by itself for up to syncLimit × tickTime, so a reply from a
// follower proves nothing about the leader. A sync does: the follower
// forwards it to the leader and answers only once the leader has. Alone it
// is still not enough, since the forwarded sync may overtake the ping reply
// that carries our touch. Three syncs a, x, b in turn on one connection
// are, when x was sent at least gap after a was answered:
//
//   - the follower touched the session when a arrived, before forwarding a;
//   - the leader pings every follower every tickTime/2 (Leader.lead), so it
//     sent one after it received a and before it answered x; the follower
//     handles the leader's packets in order, so it replied to that ping,
//     with our touch, before it answered x;
//   - b left after x's answer came back, so the follower forwarded b after
//     that ping reply, on the same ordered stream, and the leader, which
//     reads a follower's packets in order (LearnerHandler), applied our
//     touch before it answered b.
//
// So b's answer proves the leader touched the session after a was sent:
// the server cannot expire it until a's send time plus the session timeout.
// A connection to the leader itself is covered as well (the leader touches
// a session on every request it receives). A new connection starts a new
// series: the follower it reaches revalidates the session with the leader,
// which is credited on its own (see wire.connected).
type leaderProof struct {
	gap  int64 // at least one leader ping interval, with room to spare
	conn uint64
	hist []span // answered syncs on conn, oldest first, from the latest usable a on
}

type span struct{ sent, recv int64 }

// answered records a sync sent at sent and answered at recv on connection
// conn, sent only after the previous sync recorded was answered. It returns
// the latest send time the leader is proven to have heard of.
func (p *leaderProof) answered(conn uint64, sent, recv int64) (proven int64, ok bool) {
	if conn != p.conn {
		p.conn, p.hist = conn, p.hist[:0]
	}
	if n := len(p.hist); n >= 2 {
		x := p.hist[n-1]
		for i := n - 2; i >= 0; i-- {
			if p.hist[i].recv <= x.sent-p.gap {
				proven, ok = p.hist[i].sent, true
				p.hist = append(p.hist[:0], p.hist[i:]...)
				break
			}
		}
	}
	p.hist = append(p.hist, span{sent, recv})
	return proven, ok
}
