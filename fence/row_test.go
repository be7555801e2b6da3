package fence_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/zkcoord/zkcoord/fence"
	"github.com/zkcoord/zkcoord/fence/fencetest"
)

// The single-row form: the token lives in the row it protects.
func TestRowUpdate(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		if _, err := db.ExecContext(ctx, `CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER NOT NULL, note TEXT, fence_token BIGINT)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO stock (sku, qty) VALUES ('last-item', 1), ('other', 9)`); err != nil {
			t.Fatal(err)
		}
		row := fence.Row{Dialect: d, Table: "stock", KeyColumn: "sku", FenceColumn: "fence_token"}
		read := func(sku string) (qty int, note sql.NullString, token sql.NullInt64) {
			t.Helper()
			q := "SELECT qty, note, fence_token FROM stock WHERE sku = ?"
			if d == fence.Postgres {
				q = "SELECT qty, note, fence_token FROM stock WHERE sku = $1"
			}
			if err := db.QueryRowContext(ctx, q, sku).Scan(&qty, &note, &token); err != nil {
				t.Fatal(err)
			}
			return
		}

		// A NULL fence column: no holder has written, any token goes.
		if err := row.Update(ctx, db, "last-item", 10, fence.Col{"qty", 0}, fence.Col{"note", "sold by A"}); err != nil {
			t.Fatalf("A's sale: %v", err)
		}
		if err := row.Update(ctx, db, "last-item", 11, fence.Col{"note", "B restocks"}, fence.Col{"qty", 5}); err != nil {
			t.Fatalf("B's restock: %v", err)
		}
		err := row.Update(ctx, db, "last-item", 10, fence.Col{"qty", 0}, fence.Col{"note", "sold by A again"})
		var stale *fence.StaleError
		if !errors.As(err, &stale) || stale.Token != 10 || stale.Highest != 11 {
			t.Fatalf("A's late sale: %v, want a *StaleError 10 < 11", err)
		}
		if qty, note, tok := read("last-item"); qty != 5 || note.String != "B restocks" || tok.Int64 != 11 {
			t.Errorf("row after the refused write: qty %d, note %q, token %v", qty, note.String, tok)
		}
		// An equal token, and no column but the token: accepted.
		if err := row.Update(ctx, db, "last-item", 11); err != nil {
			t.Errorf("B again with no columns: %v", err)
		}
		if qty, _, tok := read("other"); qty != 9 || tok.Valid {
			t.Errorf("another row changed: qty %d, token %v", qty, tok)
		}
		// Inside a transaction too.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := row.Update(ctx, tx, "other", 3, fence.Col{"qty", 8}); err != nil {
			t.Errorf("in a transaction: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if qty, _, tok := read("other"); qty != 8 || tok.Int64 != 3 {
			t.Errorf("other after its update: qty %d, token %v", qty, tok)
		}

		if err := row.Update(ctx, db, "no-such-sku", 12, fence.Col{"qty", 1}); !errors.Is(err, fence.ErrUnknownResource) {
			t.Errorf("a missing row: %v, want ErrUnknownResource", err)
		}
		if err := row.Update(ctx, db, "last-item", 0, fence.Col{"qty", 1}); !errors.Is(err, fence.ErrInvalidToken) {
			t.Errorf("token 0: %v", err)
		}
		for _, bad := range []fence.Row{
			{Dialect: d, Table: "stock; DROP TABLE stock", KeyColumn: "sku", FenceColumn: "fence_token"},
			{Dialect: d, Table: "stock", KeyColumn: `sku"`, FenceColumn: "fence_token"},
			{Dialect: d, Table: "stock", KeyColumn: "sku", FenceColumn: ""},
			{Table: "stock", KeyColumn: "sku", FenceColumn: "fence_token"},
		} {
			if err := bad.Update(ctx, db, "last-item", 20, fence.Col{"qty", 1}); !errors.Is(err, fence.ErrInvalidArgument) {
				t.Errorf("%+v: %v, want ErrInvalidArgument", bad, err)
			}
		}
		if err := row.Update(ctx, db, "last-item", 20, fence.Col{"fence_token", 99}); !errors.Is(err, fence.ErrInvalidArgument) {
			t.Errorf("setting the fence column: %v, want ErrInvalidArgument", err)
		}
		if err := row.Update(ctx, db, "last-item", 20, fence.Col{"qty; --", 1}); !errors.Is(err, fence.ErrInvalidArgument) {
			t.Errorf("a bad column name: %v, want ErrInvalidArgument", err)
		}
		if err := row.Update(ctx, nil, "last-item", 20); !errors.Is(err, fence.ErrInvalidArgument) {
			t.Errorf("nil Execer: %v, want ErrInvalidArgument", err)
		}
		if qty, note, tok := read("last-item"); qty != 5 || note.String != "B restocks" || tok.Int64 != 11 {
			t.Errorf("bad input changed the row: qty %d, note %q, token %v", qty, note.String, tok)
		}
	})
}
