package recipes

import "fmt"

// Decision is what a Rule says about one contender in the queue.
type Decision struct {
	// Acquired is true when the contender holds the lock, lease or
	// leadership.
	Acquired bool
	// Watch is, when not acquired, the name of the one earlier contender
	// whose deletion may change the answer: the recipe sets a watch on it
	// (if it is already gone, the recipe decides again at once). It is ""
	// when Acquired.
	Watch string
	// WatchChildren, when not acquired, asks to wait for any change to the
	// set of contenders instead of one node's deletion: a permit frees up
	// whichever holder leaves. Only a rule whose waiters are kept to one at a
	// time (see Limit) may ask for it, or every release would wake them all.
	WatchChildren bool
}

// Rule decides for the contender at index self of queue, a queue sorted by
// SortContenders. Rules are pure: no I/O, no state; a recipe calls its rule
// again after every wake-up, with a freshly listed queue.
//
// self must index queue. A recipe whose own node is missing from the listing
// (deleted, or the session expired) must not ask; given an index out of
// range a rule returns the zero Decision: not acquired, nothing to watch.
type Rule func(queue []Contender, self int) Decision

// Exclusive is the rule of a mutex, of a read-write lock's writer and of
// leader election: the first contender holds; every other one watches the
// contender just before it, so a release wakes exactly one waiter.
//
// For a writer, queue holds readers and writers alike: a writer waits for
// every contender ahead of it.
func Exclusive(queue []Contender, self int) Decision {
	switch {
	case self < 0 || self >= len(queue):
		return Decision{}
	case self == 0:
		return Decision{Acquired: true}
	}
	return Decision{Watch: queue[self-1].Name}
}

// Shared returns the rule of a read-write lock's reader: a reader holds when
// no writer (a contender whose Marker is writeMarker) comes before it;
// otherwise it watches the nearest writer before it.
//
// Watching the nearest writer, not the first one as Curator's
// InterProcessReadWriteLock does, keeps wake-ups exact: with writers W1, W2
// and readers behind W2, W1's release wakes only W2, and the readers wake once,
// when W2 goes, which is when they can acquire (unless another writer is still
// ahead, which they then watch).
//
// Curator also lets a reader in at once when the same client holds the write
// lock (downgrade, re-entrance). That depends on who holds what, not on the
// queue, so it is the rwlock package's business, not this rule's.
//
// Shared panics if writeMarker is empty: no contender would ever count as a
// writer and every reader would acquire.
func Shared(writeMarker string) Rule {
	if writeMarker == "" {
		panic(fmt.Sprintf("%v: recipes.Shared needs a write marker", ErrInvalidArgument))
	}
	return func(queue []Contender, self int) Decision {
		if self < 0 || self >= len(queue) {
			return Decision{}
		}
		for i := self - 1; i >= 0; i-- {
			if queue[i].Marker == writeMarker {
				return Decision{Watch: queue[i].Name}
			}
		}
		return Decision{Acquired: true}
	}
}

// FirstN returns the rule of n permits: the first n contenders hold; a
// contender further back watches the one n places ahead of it, whose
// deletion moves it up to the n-th place (Curator's
// StandardLockInternalsDriver with maxLeases = n). FirstN(1) is Exclusive.
//
// For n > 1 that watch is sound but not prompt: a permit also frees up when a
// holder between the watched node and us leaves, and no single watch sees
// that. A recipe that must hand a free permit on at once (a semaphore) uses
// FirstN for the decision but waits on its lease directory's children, and
// lets only one contender wait that way at a time, under an internal mutex,
// as Curator's InterProcessSemaphoreV2 does.
//
// FirstN panics if n < 1; callers check a user's limit first and return
// ErrInvalidArgument.
func FirstN(n int) Rule {
	if n < 1 {
		panic(fmt.Sprintf("%v: recipes.FirstN(%d): n must be at least 1", ErrInvalidArgument, n))
	}
	return func(queue []Contender, self int) Decision {
		switch {
		case self < 0 || self >= len(queue):
			return Decision{}
		case self < n:
			return Decision{Acquired: true}
		}
		return Decision{Watch: queue[self-n].Name}
	}
}

// Limit is the rule of a counting semaphore's lease directory: a contender
// holds while it is among the first n; otherwise it waits for the set of
// leases to change. The recipe must let only one contender wait at a time
// (Curator's InterProcessSemaphoreV2 does so under an internal mutex), which
// keeps a release from waking more than one waiter.
//
// Limit panics if n < 1; callers check a user's limit first and return
// ErrInvalidArgument.
func Limit(n int) Rule {
	if n < 1 {
		panic(fmt.Sprintf("%v: recipes.Limit(%d): n must be at least 1", ErrInvalidArgument, n))
	}
	return func(queue []Contender, self int) Decision {
		switch {
		case self < 0 || self >= len(queue):
			return Decision{}
		case self < n:
			return Decision{Acquired: true}
		}
		return Decision{WatchChildren: true}
	}
}
