// Payment-job pays out a batch exactly once, however many replicas of the
// service wake up to do it.
//
// Each replica (here a goroutine with a session of its own, as if it were a
// separate process) waits for one lock. The holder checks the payments
// database, pays the batch if nobody has, and records it as paid; the others
// then find it paid. The check and the payments are one transaction fenced
// by the lease's token (fence.SQL.Do): the database refuses a token lower
// than the highest it has seen, so a replica that paused while holding the
// lock, lost it and woke up late cannot pay a second time.
//
// The payments are kept in SQLite (a file in a temporary directory), or in
// PostgreSQL when POSTGRES_URL is set.
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/payment-job
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/examples/internal/store"
	"github.com/zkcoord/zkcoord/fence"
	"github.com/zkcoord/zkcoord/mutex"
)

const (
	replicas = 4
	lockPath = "/examples/payment-job/lock"
	batchID  = "2026-11-payouts"
)

var batch = []string{"alice: 120.00", "bob: 75.50", "carol: 310.25"}

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
	db, err := store.Open(ctx, "payment-job")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Reset(ctx, "/examples/payment-job/",
		"DROP TABLE IF EXISTS payments",
		"DROP TABLE IF EXISTS batches",
		"CREATE TABLE payments (batch TEXT NOT NULL, line TEXT NOT NULL, token BIGINT NOT NULL)",
		"CREATE TABLE batches (batch TEXT PRIMARY KEY, paid_by TEXT, times_paid INTEGER NOT NULL DEFAULT 0)",
		"INSERT INTO batches (batch) VALUES ('"+batchID+"')",
	); err != nil {
		return err
	}
	say("database: %s", db.Where)

	var refused atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			errs[i] = replica(ctx, say, servers, fmt.Sprintf("replica-%d", i+1), db, &refused)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var payments, timesPaid int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM payments").Scan(&payments); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, db.Q("SELECT times_paid FROM batches WHERE batch = ?"), batchID).Scan(&timesPaid); err != nil {
		return err
	}
	say("database: %d payments, batch paid %d time(s), %d stale writes refused", payments, timesPaid, refused.Load())
	return nil
}

func replica(ctx context.Context, say func(string, ...any), servers []string, name string, db *store.DB, refused *atomic.Int64) error {
	m, err := harness.Connect(ctx, servers, name)
	if err != nil {
		return err
	}
	defer m.Close()
	lock, err := mutex.New(m, lockPath)
	if err != nil {
		return err
	}
	lease, err := lock.Lock(ctx) // fair: replicas take turns in the order they asked
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// Work under lease.Context(): it ends if the lock is lost.
	err = pay(lease.Context(), say, name, lease.Token(), db)
	if errors.Is(err, fence.ErrStale) { // the database did its job: a newer holder has written
		refused.Add(1)
		say("%v", err)
		err = nil
	}
	if uerr := lease.Unlock(ctx); err == nil {
		err = uerr
	}
	return err
}

// pay pays the batch unless it is paid: the check and the payments in one
// transaction, fenced by token.
func pay(ctx context.Context, say func(string, ...any), name string, token int64, db *store.DB) error {
	var paidBy string
	err := db.Fence.Do(ctx, lockPath, token, func(tx *sql.Tx) error {
		var by sql.NullString
		if err := tx.QueryRowContext(ctx, db.Q("SELECT paid_by FROM batches WHERE batch = ?"), batchID).Scan(&by); err != nil {
			return err
		}
		if paidBy = by.String; by.Valid {
			return nil
		}
		for _, line := range batch {
			if _, err := tx.ExecContext(ctx, db.Q("INSERT INTO payments (batch, line, token) VALUES (?, ?, ?)"), batchID, line, token); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, db.Q("UPDATE batches SET paid_by = ?, times_paid = times_paid + 1 WHERE batch = ?"), name, batchID)
		return err
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("%s: lock lost, nothing paid: %w", name, context.Cause(ctx))
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	case paidBy != "":
		say("%s: holds the lock (token %d): batch already paid by %s, nothing to do", name, token, paidBy)
	default:
		say("%s: holds the lock (token %d): paying the batch", name, token)
	}
	return nil
}
