// Schema-migration runs a database migration from whichever instance of a
// service gets to it first while a deploy rolls out, and from no other.
//
//   - instance-a takes the migration lock, waiting at most 10s (Lock with a
//     timeout context), and backfills under lease.Context();
//   - instance-b starts meanwhile: TryLock says someone else is migrating,
//     so it starts without migrating instead of waiting;
//   - instance-c is willing to wait 200ms, no more: its Lock gives up;
//   - an operator, thinking instance-a hangs, deletes its lock node. The
//     lease's context is cancelled (as it would be if instance-a's session
//     expired or it were cut off from ZooKeeper) and the backfill stops;
//   - instance-b tries again, gets the lock and resumes where a stopped.
//
// Writes carry the lease's fencing token (fence.SQL.Do), so a batch
// instance-a was still writing when it lost the lock cannot land once
// instance-b has written. The database is SQLite (a file in a temporary
// directory), or PostgreSQL when POSTGRES_URL is set.
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/schema-migration
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/examples/internal/store"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

const (
	lockPath             = "/examples/schema-migration/lock"
	totalRows, batchRows = 2000, 20 // a batch every 20ms: the backfill takes 2s
)

// database is the one being migrated: its migration table says how many
// rows are backfilled and at which version the schema is.
type database struct{ *store.DB }

func (db database) state(ctx context.Context) (rows, version int, err error) {
	err = db.QueryRowContext(ctx, "SELECT rows_done, version FROM migration").Scan(&rows, &version)
	return rows, version, err
}

// write sets a column of the migration table, fenced by token.
func (db database) write(ctx context.Context, token int64, column string, value int) error {
	return db.Fence.Do(ctx, lockPath, token, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.Q("UPDATE migration SET "+column+" = ?"), value)
		return err
	})
}

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
	sdb, err := store.Open(ctx, "schema-migration")
	if err != nil {
		return err
	}
	defer sdb.Close()
	if err := sdb.Reset(ctx, "/examples/schema-migration/",
		"DROP TABLE IF EXISTS migration",
		"CREATE TABLE migration (rows_done INTEGER NOT NULL, version INTEGER NOT NULL)",
		"INSERT INTO migration VALUES (0, 1)",
	); err != nil {
		return err
	}
	say("database: %s", sdb.Where)
	db := database{sdb}
	var sessions [4]*session.Manager
	var locks [4]*mutex.Mutex
	for i, name := range []string{"instance-a", "instance-b", "instance-c", "operator"} {
		m, err := harness.Connect(ctx, servers, name)
		if err != nil {
			return err
		}
		defer m.Close()
		if locks[i], err = mutex.New(m, lockPath); err != nil {
			return err
		}
		sessions[i] = m
	}
	a, b, c, operator := locks[0], locks[1], locks[2], locks[3]

	leaseA, err := lockWithin(ctx, a, 10*time.Second)
	if err != nil {
		return fmt.Errorf("instance-a: %w", err)
	}
	say("instance-a: migration lock acquired (token %d), backfilling", leaseA.Token())
	backfilling, doneA := make(chan struct{}), make(chan error, 1)
	go func() { doneA <- migrate(leaseA.Context(), say, "instance-a", leaseA.Token(), db, backfilling) }()
	select {
	case <-backfilling:
	case err := <-doneA:
		return fmt.Errorf("instance-a: migration ended early: %v", err)
	}

	switch _, err := b.TryLock(ctx); {
	case errors.Is(err, recipes.ErrWouldBlock):
		say("instance-b: someone else is migrating; starting without migrating")
	case err != nil:
		return fmt.Errorf("instance-b: %w", err)
	default:
		return errors.New("instance-b took the lock while instance-a held it")
	}

	if _, err := lockWithin(ctx, c, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("instance-c: want a timeout, got %v", err)
	}
	say("instance-c: waited 200ms for the lock, gave up")

	st, err := operator.Status(ctx)
	if err != nil || st.Holder == nil {
		return fmt.Errorf("operator: no holder to delete (%v)", err)
	}
	say("operator: %s has held the lock since %s; deleting its node", st.Holder.Identity, st.Holder.Since.Format(time.TimeOnly))
	ep, err := sessions[3].Epoch(ctx) // the operator's ZooKeeper session, for a plain delete
	if err != nil {
		return err
	}
	if err := ep.Delete(ctx, lockPath+"/"+st.Holder.Name, -1); err != nil {
		return err
	}
	say("instance-a: %v", <-doneA)
	if err := leaseA.Unlock(ctx); !errors.Is(err, recipes.ErrNotHeld) {
		return fmt.Errorf("instance-a: unlocking a lost lease: want ErrNotHeld, got %v", err)
	}

	leaseB, err := lockWithin(ctx, b, 10*time.Second)
	if err != nil {
		return fmt.Errorf("instance-b: %w", err)
	}
	from, _, err := db.state(ctx)
	if err != nil {
		return err
	}
	say("instance-b: migration lock acquired (token %d), resuming at row %d", leaseB.Token(), from)
	err = migrate(leaseB.Context(), say, "instance-b", leaseB.Token(), db, nil)
	if uerr := leaseB.Unlock(ctx); err == nil {
		err = uerr
	}
	rows, version, serr := db.state(ctx)
	if err == nil {
		err = serr
	}
	say("database: schema version %d, %d of %d rows backfilled", version, rows, totalRows)
	return err
}

// lockWithin waits for the lock for at most d.
func lockWithin(ctx context.Context, mu *mutex.Mutex, d time.Duration) (*mutex.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return mu.Lock(ctx)
}

// migrate backfills the rows not done yet, then moves the schema to
// version 2. It stops as soon as ctx, the lease's context, ends.
func migrate(ctx context.Context, say func(string, ...any), name string, token int64, db database, started chan<- struct{}) error {
	rows := 0 // as far as this instance knows
	stopped := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("backfill stopped at row %d: %w", rows, context.Cause(ctx))
		}
		return err
	}
	for {
		done, _, err := db.state(ctx)
		if err != nil {
			return stopped(err)
		}
		if rows = done; rows == totalRows {
			break
		}
		select {
		case <-ctx.Done():
			return stopped(nil)
		case <-time.After(20 * time.Millisecond): // backfilling one batch
		}
		if err := db.write(ctx, token, "rows_done", rows+batchRows); err != nil {
			return stopped(err)
		}
		rows += batchRows
		if started != nil {
			close(started)
			started = nil
		}
	}
	say("%s: backfill done; schema at version 2", name)
	return db.write(ctx, token, "version", 2)
}
