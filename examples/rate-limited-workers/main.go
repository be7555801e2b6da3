// Rate-limited-workers keeps ten workers from calling an API that allows
// three concurrent calls more than three at a time: a semaphore with three
// permits, which every worker opens at the same path.
//
// Each worker has a session of its own, as if it ran in a process of its
// own, so no in-process limit could do this. The fake API counts the calls
// in flight and refuses any beyond three, as a rate-limited service would;
// the example reports the most it saw at once.
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/rate-limited-workers
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/semaphore"
)

const (
	permits        = 3
	workers        = 10
	callsPerWorker = 3
)

func main() {
	// Ctrl-C or SIGTERM cancels ctx: run returns, and the deferred Close of
	// every session ends it at once. A process killed without Close would
	// hold its locks until the server expires its session.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	harness.Main(ctx, run)
}

func run(ctx context.Context, out io.Writer, servers []string) error {
	say := harness.Printer(out)
	api := &fakeAPI{limit: permits}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() { errs[i] = worker(ctx, say, servers, fmt.Sprintf("worker-%d", i+1), api) })
	}
	wg.Wait()
	say("api: %d calls, at most %d at once, %d refused", api.calls, api.maxInFlight, api.refused)
	return errors.Join(errs...)
}

func worker(ctx context.Context, say func(string, ...any), servers []string, name string, api *fakeAPI) error {
	m, err := harness.Connect(ctx, servers, name)
	if err != nil {
		return err
	}
	defer m.Close()
	// Every worker must give the same limit: one that disagrees with the
	// limit stored by the others gets recipes.ErrLimitMismatch.
	sem, err := semaphore.New(m, "/examples/rate-limited-workers/api", permits)
	if err != nil {
		return err
	}
	var waited time.Duration
	for range callsPerWorker {
		start := time.Now()
		lease, err := sem.Acquire(ctx, 1) // fair: permits go out in the order asked
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		waited += time.Since(start)
		err = api.call(lease.Context())
		if rerr := lease.Release(ctx); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	say("%s: %d calls done, %v waiting for permits", name, callsPerWorker, waited.Round(time.Millisecond))
	return nil
}

// fakeAPI answers in 50ms and refuses a call while limit others are in
// flight, as a rate-limited service would.
type fakeAPI struct {
	limit int

	mu                                    sync.Mutex
	inFlight, maxInFlight, calls, refused int
}

func (a *fakeAPI) call(ctx context.Context) error {
	a.mu.Lock()
	a.calls++
	a.inFlight++
	a.maxInFlight = max(a.maxInFlight, a.inFlight)
	n := a.inFlight
	if n > a.limit {
		a.refused++
	}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.inFlight--
		a.mu.Unlock()
	}()
	if n > a.limit {
		return fmt.Errorf("api: 429 too many requests (%d in flight)", n)
	}
	select {
	case <-ctx.Done(): // the permit was lost: stop using the API
		return context.Cause(ctx)
	case <-time.After(50 * time.Millisecond):
		return nil
	}
}
