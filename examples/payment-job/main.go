// Payment-job pays out a batch exactly once, however many replicas of the
// service wake up to do it.
//
// Each replica (here a goroutine with a session of its own, as if it were a
// separate process) waits for one lock. The holder checks the payments
// database, pays the batch if nobody has, and records it as paid; the others
// then find it paid. Every write carries the lease's fencing token and the
// database refuses a token lower than the highest it has seen, so a replica
// that paused while holding the lock, lost it and woke up late cannot pay
// a second time.
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/payment-job
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/zkcoord/zkcoord/examples/internal/fenced"
	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/mutex"
)

const replicas = 4

var batch = []string{"alice: 120.00", "bob: 75.50", "carol: 310.25"}

// paymentsDB stands in for the database the replicas share.
type paymentsDB struct {
	fenced.Fence // every write carries a fencing token
	payments     []string
	timesPaid    int
	paidBy       string
}

func main() { harness.Main(run) }

func run(ctx context.Context, out io.Writer, servers []string) error {
	say := harness.Printer(out)
	db := &paymentsDB{}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { errs[i] = replica(ctx, say, servers, fmt.Sprintf("replica-%d", i+1), db) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	say("database: %d payments, batch paid %d time(s), %d stale writes refused", len(db.payments), db.timesPaid, db.Refused())
	return nil
}

func replica(ctx context.Context, say func(string, ...any), servers []string, name string, db *paymentsDB) error {
	m, err := harness.Connect(ctx, servers, name)
	if err != nil {
		return err
	}
	defer m.Close()
	lock, err := mutex.New(m, "/examples/payment-job/lock")
	if err != nil {
		return err
	}
	lease, err := lock.Lock(ctx) // fair: replicas take turns in the order they asked
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// Work under lease.Context(): it ends if the lock is lost.
	err = pay(lease.Context(), say, name, lease.Token(), db)
	if uerr := lease.Unlock(ctx); err == nil {
		err = uerr
	}
	return err
}

func pay(ctx context.Context, say func(string, ...any), name string, token int64, db *paymentsDB) error {
	var paidBy string
	db.Read(func() { paidBy = db.paidBy })
	if paidBy != "" {
		say("%s: holds the lock (token %d): batch already paid by %s, nothing to do", name, token, paidBy)
		return nil
	}
	say("%s: holds the lock (token %d): paying the batch", name, token)
	for _, p := range batch {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: lock lost, stopping: %w", name, context.Cause(ctx))
		}
		if err := db.Write(token, func() { db.payments = append(db.payments, p) }); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return db.Write(token, func() { db.timesPaid++; db.paidBy = name })
}
