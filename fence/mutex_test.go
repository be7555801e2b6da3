package fence_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/fence"
	"github.com/zkcoord/zkcoord/fence/fencetest"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Real leases: holders of a zkcoord mutex, each with a session of its own,
// contend and write under their tokens; then a holder whose session ended
// while it was paused writes late. Every holder's writes are in the ledger,
// together and in the order the lock was granted, and the late one is not.
func TestMutexHolders(t *testing.T) {
	zk := zktest.Start(t, zktest.Options{Nodes: 1})
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		ctx := testCtx(t)
		f := newLedger(t, db, d)
		lockPath := "/fence-test/" + d.String()
		connect := func(identity string) *session.Manager {
			t.Helper()
			m, err := session.New(ctx, session.Config{
				Servers: zk.Servers(), SessionTimeout: 4 * time.Second, Identity: identity, Logger: testutil.Logger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close() })
			return m
		}

		const holders, writesEach = 5, 3
		var wg sync.WaitGroup
		errs := make([]error, holders)
		for i := range holders {
			m := connect(name(i))
			mu, err := mutex.New(m, lockPath)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				lease, err := mu.Lock(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				for range writesEach {
					if err := write(lease.Context(), f, lockPath, name(i), lease.Token()); err != nil {
						errs[i] = err
						break
					}
				}
				if err := lease.Unlock(ctx); errs[i] == nil {
					errs[i] = err
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		rows := ledgerRows(t, db)
		if len(rows) != holders*writesEach {
			t.Fatalf("%d rows, want %d: %v", len(rows), holders*writesEach, rows)
		}
		seen := map[string]bool{}
		for i := 0; i < len(rows); i += writesEach {
			turn := rows[i : i+writesEach]
			for _, r := range turn {
				if r != turn[0] {
					t.Errorf("a turn's writes are not together: %v", rows)
				}
			}
			if seen[turn[0].writer] {
				t.Errorf("%s wrote in two turns: %v", turn[0].writer, rows)
			}
			seen[turn[0].writer] = true
			if i > 0 && turn[0].token <= rows[i-1].token {
				t.Errorf("token %d after %d: %v", turn[0].token, rows[i-1].token, rows)
			}
		}

		// The paused holder: its session ends while it sleeps (here: is
		// closed), the next one takes the lock and writes, and it wakes up
		// to write with the token it still has.
		pm, qm := connect("paused"), connect("next")
		pmu, _ := mutex.New(pm, lockPath)
		qmu, _ := mutex.New(qm, lockPath)
		p, err := pmu.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(ctx, f, lockPath, "paused", p.Token()); err != nil {
			t.Fatal(err)
		}
		_ = pm.Close()
		<-p.Done()
		q, err := qmu.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(ctx, f, lockPath, "next", q.Token()); err != nil {
			t.Fatal(err)
		}
		err = write(context.Background(), f, lockPath, "paused-late", p.Token())
		var stale *fence.StaleError
		if !errors.As(err, &stale) || stale.Token != p.Token() || stale.Highest != q.Token() {
			t.Fatalf("the paused holder's late write: %v, want a *StaleError %d < %d", err, p.Token(), q.Token())
		}
		if err := q.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		rows = ledgerRows(t, db)
		if n := len(rows); n != holders*writesEach+2 || rows[n-2].writer != "paused" || rows[n-1].writer != "next" {
			t.Errorf("ledger ends %v", rows[max(0, n-3):])
		}
	})
}
