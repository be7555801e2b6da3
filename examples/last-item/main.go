// Last-item sells the last items in stock once each, however many buyers
// press "buy" at the same moment.
//
// The stock count is a row in the shop's database (SQLite, a file in a
// temporary directory, or PostgreSQL when POSTGRES_URL is set). A buyer
// takes the lock, reads the count and writes count-1 with fence.Row: one
// UPDATE that also sets the row's fence column to the lease's token, and
// changes nothing if the row already carries a higher one. So a buyer that
// paused while deciding, lost the lock and woke up after the next buyer's
// sale gets an error, not a sale. (Stock kept in ZooKeeper itself would use
// lease.Guard instead.)
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/last-item
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

	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/examples/internal/store"
	"github.com/zkcoord/zkcoord/fence"
	"github.com/zkcoord/zkcoord/mutex"
)

const (
	lockPath = "/examples/last-item/lock"
	sku      = "last-item"
	inStock  = 3
	buyers   = 8
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
	db, err := store.Open(ctx, "last-item")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Reset(ctx, "/examples/last-item/",
		"DROP TABLE IF EXISTS stock",
		"CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER NOT NULL, fence_token BIGINT)",
	); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, db.Q("INSERT INTO stock (sku, qty) VALUES (?, ?)"), sku, inStock); err != nil {
		return err
	}
	say("shop: %d in stock, %d buyers; database: %s", inStock, buyers, db.Where)

	var wg sync.WaitGroup
	errs := make([]error, buyers)
	for i := range buyers {
		wg.Go(func() { errs[i] = buy(ctx, say, servers, fmt.Sprintf("buyer-%d", i+1), db) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var left int
	if err := db.QueryRowContext(ctx, db.Q("SELECT qty FROM stock WHERE sku = ?"), sku).Scan(&left); err != nil {
		return err
	}
	say("shop: %d left in stock", left)
	return nil
}

func buy(ctx context.Context, say func(string, ...any), servers []string, name string, db *store.DB) error {
	m, err := harness.Connect(ctx, servers, name)
	if err != nil {
		return err
	}
	defer m.Close()
	lock, err := mutex.New(m, lockPath)
	if err != nil {
		return err
	}
	lease, err := lock.Lock(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	err = sellOne(lease.Context(), say, name, db, lease.Token())
	if uerr := lease.Unlock(ctx); err == nil {
		err = uerr
	}
	return err
}

// stock is the fenced row: its fence_token column holds the token of the
// sale that last changed it.
var stock = fence.Row{Table: "stock", KeyColumn: "sku", FenceColumn: "fence_token"}

// sellOne sells an item if one is left, under the lease whose token it has.
func sellOne(ctx context.Context, say func(string, ...any), name string, db *store.DB, token int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op
	read := "SELECT qty FROM stock WHERE sku = ?"
	if db.Fence.Dialect() == fence.Postgres {
		read += " FOR UPDATE" // SQLite's transactions (fence.OpenSQLite) lock the whole database already
	}
	var qty int
	if err := tx.QueryRowContext(ctx, db.Q(read), sku).Scan(&qty); err != nil {
		return err
	}
	if qty <= 0 {
		say("%s: sold out", name)
		return nil
	}
	row := stock
	row.Dialect = db.Fence.Dialect()
	if err := row.Update(ctx, tx, sku, token, fence.Col{Name: "qty", Value: qty - 1}); err != nil {
		return fmt.Errorf("%s: sale not recorded: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: sale not recorded: %w", name, err)
	}
	say("%s: bought one (token %d), %d left", name, token, qty-1)
	return nil
}
