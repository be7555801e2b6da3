package fence_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/fence"
)

// ledger is the protected data of these tests: one row per accepted write,
// numbered in the order the writes took effect.
func newLedger(t testing.TB, db *sql.DB, d fence.Dialect) *fence.SQL {
	t.Helper()
	ctx := testCtx(t)
	f, err := fence.NewSQL(db, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Init(ctx); err != nil {
		t.Fatal(err)
	}
	id := "id INTEGER PRIMARY KEY AUTOINCREMENT"
	if d == fence.Postgres {
		id = "id BIGSERIAL PRIMARY KEY"
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE ledger ("+id+", writer TEXT NOT NULL, token BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return f
}

// write appends (writer, token) to the ledger, fenced by resource.
func write(ctx context.Context, f *fence.SQL, resource, writer string, token int64) error {
	return f.Do(ctx, resource, token, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, insertLedger(f.Dialect()), writer, token)
		return err
	})
}

func insertLedger(d fence.Dialect) string {
	if d == fence.Postgres {
		return "INSERT INTO ledger (writer, token) VALUES ($1, $2)"
	}
	return "INSERT INTO ledger (writer, token) VALUES (?, ?)"
}

type entry struct {
	writer string
	token  int64
}

// ledgerRows is the ledger in the order its writes took effect.
func ledgerRows(t testing.TB, db *sql.DB) []entry {
	t.Helper()
	rows, err := db.QueryContext(testCtx(t), "SELECT writer, token FROM ledger ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.writer, &e.token); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func name(i int) string { return fmt.Sprintf("holder-%d", i) }
