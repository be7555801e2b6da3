package rwlock

import (
	"context"

	"github.com/zkcoord/zkcoord/recipes"
)

// Kind says whether a contender asks to read or to write.
type Kind int

const (
	Read  Kind = iota + 1 // a __READ__ node
	Write                 // a __WRIT__ node
)

func (k Kind) String() string {
	switch k {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "unknown"
}

// Participant is one contender of the lock, with its kind.
type Participant struct {
	recipes.Participant
	Kind Kind
}

// Status is who holds the lock and who waits, in queue order.
type Status struct {
	// Holders are the writer that holds the lock alone, or the readers
	// that hold it together (every reader ahead of the first writer);
	// empty when the lock is free.
	Holders []Participant
	// Waiters are the others, in the order they will be served.
	Waiters []Participant
}

// Writing reports whether a writer holds the lock.
func (s Status) Writing() bool { return len(s.Holders) == 1 && s.Holders[0].Kind == Write }

// Status reads the queue, including nodes written by Curator's
// InterProcessReadWriteLock. Holders are decided by the queue's rules, as
// every contender decides: the head of the queue may not have confirmed
// its acquisition yet, and a reader taken by WriteLease.Downgrade shows as
// waiting behind its own writer for the moment the two overlap.
func (rw *RWLock) Status(ctx context.Context) (Status, error) {
	ps, err := rw.q.Participants(ctx)
	if err != nil || len(ps) == 0 {
		return Status{}, err
	}
	all := make([]Participant, len(ps))
	for i, p := range ps {
		all[i] = Participant{Participant: p, Kind: kindOf(p.Marker)}
	}
	held := 0
	switch {
	case all[0].Kind == Write:
		held = 1
	default:
		for held < len(all) && all[held].Kind == Read {
			held++
		}
	}
	return Status{Holders: all[:held:held], Waiters: all[held:]}, nil
}

func kindOf(marker string) Kind {
	switch marker {
	case recipes.MarkerRead:
		return Read
	case recipes.MarkerWrite:
		return Write
	}
	return 0
}
