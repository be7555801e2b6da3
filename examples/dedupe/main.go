// Dedupe processes each message of an at-least-once queue once, although
// every message reaches every worker: 200 message ids, 4 workers, each
// worker handed all 200 (in an order of its own, 4 at a time).
//
// A lock per id taken with TryLock, skipping the id when the lock is held,
// does not do this: it keeps two workers off one id at the same moment, not
// one after the other, and a worker that comes a moment later processes the
// id again. once.Do records each id's completion under its lock; a worker
// that comes later reads the record and skips the id without waiting, and
// one that waited for the lock reads it once it holds the lock.
//
// What once cannot do, no lock can: a worker that dies in the middle of an
// id leaves it to another, so processing must be idempotent or fenced with
// the token Do passes (the ledger here refuses a token lower than the last
// one it accepted for that id).
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/dedupe
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/once"
)

const (
	messages    = 200
	workers     = 4
	perWorker   = 4 // messages a worker handles at once
	dedupeDir   = "/examples/dedupe"
	dedupeWhere = dedupeDir + "/payments"
)

func main() {
	// Ctrl-C or SIGTERM cancels ctx: run returns, and the deferred Close of
	// every session ends it at once. A process killed without Close would
	// hold its locks until the server expires its session.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	harness.Main(ctx, run)
}

// ledger is the system the messages change: it counts how often each id
// was processed, and refuses a token lower than one it accepted for the id.
type ledger struct {
	mu      sync.Mutex
	times   map[string]int
	tokens  map[string]int64
	refused int
}

func (l *ledger) process(id string, token int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if token < l.tokens[id] {
		l.refused++
		return fmt.Errorf("ledger: %s: token %d below %d", id, token, l.tokens[id])
	}
	l.tokens[id] = token
	l.times[id]++
	return nil
}

func run(ctx context.Context, out io.Writer, servers []string) error {
	say := harness.Printer(out)
	book := &ledger{times: map[string]int{}, tokens: map[string]int64{}}
	ids := make([]string, messages)
	for i := range ids {
		ids[i] = fmt.Sprintf("msg-%03d", i)
	}

	// Markers persist: clear the last run's, so that this one starts afresh.
	admin, err := harness.Connect(ctx, servers, "admin")
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := harness.Clear(ctx, admin, dedupeDir); err != nil {
		return err
	}

	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		name := fmt.Sprintf("worker-%d", w+1)
		m, err := harness.Connect(ctx, servers, name)
		if err != nil {
			return err
		}
		defer m.Close()
		payments, err := once.New(m, dedupeWhere)
		if err != nil {
			return err
		}
		// The queue delivers every id to this worker too, in its own order.
		inbox := make(chan string)
		go func() {
			defer close(inbox)
			rnd := rand.New(rand.NewPCG(uint64(w), 42))
			for _, i := range rnd.Perm(messages) {
				select {
				case inbox <- ids[i]:
				case <-ctx.Done():
					return
				}
			}
		}()
		var processed, skipped atomic.Int64
		var mu sync.Mutex
		wg.Add(1)
		go func() {
			defer wg.Done()
			var inner sync.WaitGroup
			for range perWorker {
				inner.Add(1)
				go func() {
					defer inner.Done()
					for id := range inbox {
						ran, err := payments.Do(ctx, id, func(ctx context.Context, token int64) error {
							return book.process(id, token)
						})
						if err != nil {
							mu.Lock()
							errs[w] = errors.Join(errs[w], fmt.Errorf("%s: %s: %w", name, id, err))
							mu.Unlock()
							continue
						}
						if ran {
							processed.Add(1)
						} else {
							skipped.Add(1)
						}
					}
				}()
			}
			inner.Wait()
			say("%s: %d delivered, %d processed, %d skipped as done", name, messages, processed.Load(), skipped.Load())
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	most, total := 0, 0
	for _, id := range ids {
		most = max(most, book.times[id])
		total += book.times[id]
		if book.times[id] != 1 {
			return fmt.Errorf("%s processed %d times", id, book.times[id])
		}
	}
	say("ledger: %d ids, %d deliveries, %d processed, at most %d time(s) per id, %d stale tokens refused", messages, messages*workers, total, most, book.refused)
	return nil
}
