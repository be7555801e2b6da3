package fence_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/zkcoord/zkcoord/fence"
	"github.com/zkcoord/zkcoord/fence/fencetest"
)

// Holders take turns with rising tokens; after each turn the holder before
// wakes up late and tries again. Every write of a current holder is in the
// ledger, in turn order, and none of a late one.
func TestHoldersInTurn(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		var want []entry
		for i := 1; i <= 20; i++ {
			token := int64(1000 + 7*i)
			for range 3 { // a holder writes more than once under its token
				if err := write(ctx, f, "/app/ledger", name(i), token); err != nil {
					t.Fatalf("%s (token %d): %v", name(i), token, err)
				}
				want = append(want, entry{name(i), token})
			}
			if i > 1 {
				late := token - 7
				err := write(ctx, f, "/app/ledger", name(i-1)+"-late", late)
				var stale *fence.StaleError
				if !errors.As(err, &stale) || !errors.Is(err, fence.ErrStale) {
					t.Fatalf("late write with token %d after %d: %v, want a *StaleError", late, token, err)
				}
				if *stale != (fence.StaleError{Resource: "/app/ledger", Token: late, Highest: token}) {
					t.Errorf("stale error %+v", *stale)
				}
			}
		}
		if got := ledgerRows(t, db); !slices.Equal(got, want) {
			t.Errorf("ledger:\n%v\nwant:\n%v", got, want)
		}
		if h, err := f.Highest(ctx, "/app/ledger"); err != nil || h != 1140 {
			t.Errorf("Highest = %d, %v; want 1140", h, err)
		}
	})
}

// The seed scenario: A (token 10) writes and pauses, B (token 11) writes,
// A wakes and writes again. A's late write is refused, naming both tokens,
// and what A and B wrote before stays.
func TestPausedHolderLateWrite(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		if err := write(ctx, f, "/inventory", "A", 10); err != nil {
			t.Fatal(err)
		}
		if err := write(ctx, f, "/inventory", "B", 11); err != nil {
			t.Fatal(err)
		}
		called := false
		err := f.Do(ctx, "/inventory", 10, func(tx *sql.Tx) error {
			called = true
			return nil
		})
		var stale *fence.StaleError
		if !errors.As(err, &stale) || stale.Token != 10 || stale.Highest != 11 || stale.Resource != "/inventory" {
			t.Fatalf("A's late write: %v, want a *StaleError for token 10 < 11", err)
		}
		if want := "fence: /inventory: stale token 10 < highest 11: write refused"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if called {
			t.Error("the statements of a refused write ran")
		}
		if got, want := ledgerRows(t, db), []entry{{"A", 10}, {"B", 11}}; !slices.Equal(got, want) {
			t.Errorf("ledger %v, want %v", got, want)
		}
		// Another resource is fenced apart: A's token is fine there.
		if err := write(ctx, f, "/other", "A", 10); err != nil {
			t.Errorf("token 10 on another resource: %v", err)
		}
	})
}

// Readers of an rwlock may share a token: writers with equal tokens are all
// accepted, at once, and a lower one is still refused after them.
func TestEqualTokensConcurrent(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		if err := write(ctx, f, "/config", "writer", 41); err != nil {
			t.Fatal(err)
		}
		const readers = 8
		var wg sync.WaitGroup
		errs := make([]error, readers)
		for i := range readers {
			wg.Go(func() { errs[i] = write(ctx, f, "/config", name(i), 42) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("%s, token 42: %v", name(i), err)
			}
		}
		if err := write(ctx, f, "/config", "old-writer", 41); !errors.Is(err, fence.ErrStale) {
			t.Errorf("token 41 after the readers' 42: %v, want ErrStale", err)
		}
		rows := ledgerRows(t, db)
		if len(rows) != 1+readers {
			t.Fatalf("%d rows, want %d: %v", len(rows), 1+readers, rows)
		}
		for _, r := range rows[1:] {
			if r.token != 42 {
				t.Errorf("row %v", r)
			}
		}
	})
}

// Writers with all kinds of tokens race: the fence makes them take effect
// one at a time, so in the order the writes took effect the tokens never go
// down, and each refusal names a higher token that had already taken effect.
func TestConcurrentTokensNeverGoDown(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		const writers = 24
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			// Tokens out of order, some equal: 1..8 three times, shuffled.
			token := int64((i*5)%8 + 1)
			wg.Go(func() { errs[i] = write(ctx, f, "/race", name(i), token) })
		}
		wg.Wait()
		accepted := 0
		for i, err := range errs {
			var stale *fence.StaleError
			switch {
			case err == nil:
				accepted++
			case errors.As(err, &stale):
				if stale.Highest <= stale.Token {
					t.Errorf("%s refused with %+v", name(i), *stale)
				}
			default:
				t.Errorf("%s: %v", name(i), err)
			}
		}
		rows := ledgerRows(t, db)
		if len(rows) != accepted {
			t.Errorf("%d writes accepted, %d in the ledger", accepted, len(rows))
		}
		for i := 1; i < len(rows); i++ {
			if rows[i].token < rows[i-1].token {
				t.Errorf("token %d took effect after %d: %v", rows[i].token, rows[i-1].token, rows)
			}
		}
		if len(rows) == 0 || rows[len(rows)-1].token != 8 {
			t.Errorf("the highest token's writes are missing: %v", rows)
		}
	})
}

// A failed write leaves no trace: neither its rows nor its token.
func TestFailedWriteRollsBack(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		if err := write(ctx, f, "/job", "A", 5); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := f.Do(ctx, "/job", 9, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, insertLedger(d), "B", 9); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("Do returned %v, want fn's error as it is", err)
		}
		if h, err := f.Highest(ctx, "/job"); err != nil || h != 5 {
			t.Errorf("Highest after a failed write = %d, %v; want 5", h, err)
		}
		if got, want := ledgerRows(t, db), []entry{{"A", 5}}; !slices.Equal(got, want) {
			t.Errorf("ledger %v, want %v", got, want)
		}
		if err := write(ctx, f, "/job", "A", 5); err != nil {
			t.Errorf("A's token after B's failed write: %v", err)
		}
	})
}

// Unknown means "no token accepted yet": Highest says so with
// ErrUnknownResource, and the first write, whatever its token, registers
// the resource.
func TestUnknownResource(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		if h, err := f.Highest(ctx, "/never"); !errors.Is(err, fence.ErrUnknownResource) || h != 0 {
			t.Errorf("Highest of a resource never fenced = %d, %v; want ErrUnknownResource", h, err)
		}
		if err := f.Check(ctx, "/never", 3); err != nil {
			t.Fatalf("first Check: %v", err)
		}
		if h, err := f.Highest(ctx, "/never"); err != nil || h != 3 {
			t.Errorf("Highest after the first Check = %d, %v; want 3", h, err)
		}
		if err := f.Check(ctx, "/never", 2); !errors.Is(err, fence.ErrStale) {
			t.Errorf("Check(2) after 3: %v", err)
		}
	})
}

// Bad input is refused before anything is written, with a typed error.
func TestBadInput(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		for _, token := range []int64{0, -1, -1 << 63} {
			called := false
			err := f.Do(ctx, "/r", token, func(*sql.Tx) error { called = true; return nil })
			if !errors.Is(err, fence.ErrInvalidToken) || errors.Is(err, fence.ErrStale) || called {
				t.Errorf("token %d: %v (fn called: %v), want ErrInvalidToken", token, err, called)
			}
		}
		if err := f.Check(ctx, "", 1); !errors.Is(err, fence.ErrInvalidArgument) {
			t.Errorf("empty resource: %v", err)
		}
		if _, err := f.Highest(ctx, ""); !errors.Is(err, fence.ErrInvalidArgument) {
			t.Errorf("Highest of an empty resource: %v", err)
		}
		if _, err := f.Highest(ctx, "/r"); !errors.Is(err, fence.ErrUnknownResource) {
			t.Errorf("an invalid token registered the resource: %v", err)
		}
		if rows := ledgerRows(t, db); len(rows) != 0 {
			t.Errorf("ledger %v after bad input", rows)
		}
	})
	if _, err := fence.NewSQL(nil, fence.SQLite); !errors.Is(err, fence.ErrInvalidArgument) {
		t.Errorf("NewSQL(nil): %v", err)
	}
	if _, err := fence.NewSQL(&sql.DB{}, fence.Dialect{}); !errors.Is(err, fence.ErrInvalidArgument) {
		t.Errorf("NewSQL with a zero Dialect: %v", err)
	}
	for _, path := range []string{"", ":memory:"} {
		if _, err := fence.OpenSQLite(path); !errors.Is(err, fence.ErrInvalidArgument) {
			t.Errorf("OpenSQLite(%q): %v", path, err)
		}
	}
}

// A closed database is ErrClosed, never mistaken for a stale token.
func TestClosedDatabase(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		if err := write(ctx, f, "/r", "A", 1); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		err := write(ctx, f, "/r", "A", 2)
		if !errors.Is(err, fence.ErrClosed) || errors.Is(err, fence.ErrStale) {
			t.Errorf("Do on a closed database: %v, want ErrClosed", err)
		}
		if _, err := f.Highest(ctx, "/r"); !errors.Is(err, fence.ErrClosed) {
			t.Errorf("Highest on a closed database: %v, want ErrClosed", err)
		}
		if err := f.Init(ctx); !errors.Is(err, fence.ErrClosed) {
			t.Errorf("Init on a closed database: %v, want ErrClosed", err)
		}
	})
}

// A cancelled context is the context's error, and nothing is written.
func TestCancelledContext(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		f := newLedger(t, db, d)
		ctx, cancel := context.WithCancel(testCtx(t))
		cancel()
		if err := write(ctx, f, "/r", "A", 1); !errors.Is(err, context.Canceled) {
			t.Errorf("Do under a cancelled context: %v", err)
		}
		if _, err := f.Highest(testCtx(t), "/r"); !errors.Is(err, fence.ErrUnknownResource) {
			t.Errorf("after a cancelled Do: %v, want the resource still unknown", err)
		}
	})
}
