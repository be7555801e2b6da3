package recipes

import (
	"sync"
	"time"
)

// Observer hears what a recipe does, for metrics and tracing. Each queue
// calls it from a goroutine of its own, one event at a time, in the order
// the events happened, never on the path that acquires or signals a loss: a
// slow observer delays only the events after it, which queue up without
// bound meanwhile.
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
	q.pump.push(e, q.observer)
}

// pump hands events to an observer in order, from a goroutine that runs
// only while events wait, so nothing is left running once they are out.
type pump struct {
	mu      sync.Mutex
	pending []Event
	running bool
}

func (p *pump) push(e Event, o Observer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, e)
	if !p.running {
		p.running = true
		go p.run(o)
	}
}

func (p *pump) run(o Observer) {
	for {
		p.mu.Lock()
		batch := p.pending
		p.pending = nil
		if len(batch) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		for _, e := range batch {
			o(e)
		}
	}
}
