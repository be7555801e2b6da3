package session

import "time"

// recheckEvery bounds how long the epoch's deadline timer sleeps, so that a
// deadline that passed while the host was suspended is noticed soon after
// it resumes (clock.go).
const recheckEvery = 250 * time.Millisecond

// heartbeatEvery is how often the heartbeat syncs: a quarter tick, and not
// so often that very short test ticks flood the leader.
func heartbeatEvery(tick time.Duration) time.Duration { return max(tick/4, 10*time.Millisecond) }

// heartbeat syncs through the leader every quarter tick, one sync at a time,
// and credits the deadline with what leaderProof proves. It returns when the
// epoch ends (shutdown closes the client, which fails the sync in flight).
func (e *Epoch) heartbeat() {
	tick := e.m.tickTime()
	every := heartbeatEvery(tick)
	proof := leaderProof{gap: int64(tick)}
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-e.done:
			return
		}
		gen, sent := e.wire.generation(), e.wire.now()
		_, err := e.conn.Sync("/")
		recv := e.wire.now()
		if err != nil {
			t.Reset(every) // a failed sync may fail at once: never spin
			continue
		}
		if e.wire.generation() == gen && e.conn.SessionID() == e.sessionID {
			if at, ok := proof.answered(gen, sent, recv); ok {
				e.wire.heard(at)
			}
		}
		t.Reset(max(time.Duration(sent+int64(every)-recv), 0))
	}
}
