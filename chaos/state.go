package chaos

import (
	"context"
	"sync"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
)

// live is what the harness knows while the run goes on, from the clients'
// event streams: who holds what, which tokens the registers accepted. The
// nemesis waits on it (for a fresh holder to pause, for a takeover before
// resuming one, for progress after a fault) instead of sleeping.
type live struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every event

	events  []proto.Event
	holding map[int]map[string]int64 // client → key → token, while held
	// acquired: every acquisition, per key, in arrival order.
	acquired map[string][]proto.Event
	// accepted: the highest token whose write a client saw accepted, per
	// register and key.
	accepted map[string]map[string]int64
	// last lifecycle event (acquired, releasing, lost) per client and key.
	last map[int]map[string]proto.Event
}

func newLive() *live {
	return &live{
		changed:  make(chan struct{}),
		holding:  map[int]map[string]int64{},
		acquired: map[string][]proto.Event{},
		accepted: map[string]map[string]int64{proto.RegFenced: {}, proto.RegUnfenced: {}},
		last:     map[int]map[string]proto.Event{},
	}
}

func (s *live) add(ev proto.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	switch ev.Ev {
	case proto.EvAcquired:
		if s.holding[ev.Client] == nil {
			s.holding[ev.Client] = map[string]int64{}
		}
		s.holding[ev.Client][ev.Key] = ev.Token
		s.acquired[ev.Key] = append(s.acquired[ev.Key], ev)
	case proto.EvReleasing, proto.EvLost:
		delete(s.holding[ev.Client], ev.Key)
	case proto.EvOp:
		if ev.Op.Kind == "w" && ev.Op.Outcome == proto.OutOK {
			m := s.accepted[ev.Op.Reg]
			m[ev.Key] = max(m[ev.Key], ev.Token)
		}
	}
	switch ev.Ev {
	case proto.EvAcquired, proto.EvReleasing, proto.EvLost:
		if s.last[ev.Client] == nil {
			s.last[ev.Client] = map[string]proto.Event{}
		}
		s.last[ev.Client][ev.Key] = ev
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait returns once cond, called under the lock, holds, or with ctx's error.
func (s *live) wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// snapshot returns every event so far.
func (s *live) snapshot() []proto.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]proto.Event(nil), s.events...)
}

// acquiredSince reports whether key was acquired at or after t (shared clock).
// Under the lock.
func (s *live) acquiredSince(key string, t int64) bool {
	acq := s.acquired[key]
	for i := len(acq) - 1; i >= 0; i-- {
		if acq[i].T >= t {
			return true
		}
	}
	return false
}
