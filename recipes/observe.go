package recipes

import "time"

// Observer hears what a recipe does, for metrics and tracing. It is called
// synchronously on the recipe's goroutines and must not block.
type Observer func(Event)

// Event is one thing a recipe did.
type Event struct {
	What   What
	Recipe string // "mutex", "rwlock", "semaphore", "election"
	Path   string // the queue's directory
	Marker string // the contender's kind
	// Wait is how long the contender queued (Acquired, Abandoned).
	Wait time.Duration
	// Held is how long the lease lasted (Released, Lost).
	Held time.Duration
	// Queue is how many contenders the deciding listing held (Acquired).
	Queue int
	// Err is the cause of a loss, or why a wait was abandoned.
	Err error
}

// What an Event reports.
type What int

const (
	Acquired  What = iota // a lease was granted
	Released              // its holder released it
	Lost                  // it ended without a release
	Abandoned             // a contender gave up waiting (context, try, error)
)

func (w What) String() string {
	switch w {
	case Acquired:
		return "acquired"
	case Released:
		return "released"
	case Lost:
		return "lost"
	case Abandoned:
		return "abandoned"
	}
	return "unknown"
}

// Observe makes the queue report to o, naming its recipe. Call it before
// the queue is used.
func (q *Queue) Observe(recipe string, o Observer) {
	q.recipe, q.observer = recipe, o
}

func (q *Queue) emit(e Event) {
	if q.observer == nil {
		return
	}
	e.Recipe, e.Path = q.recipe, q.dir
	q.observer(e)
}
