package fence_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/fence"
	"github.com/zkcoord/zkcoord/fence/fencetest"
)

// BenchmarkOverhead is the fence's cost per write: the same one-row insert
// in a transaction of its own, unfenced and fenced (SQL.Do), alternating
// so that both see the same machine. It reports each one's time and their
// ratio; ns/op is the pair's.
//
//	go test -bench . -run '^$' ./fence/
func BenchmarkOverhead(b *testing.B) {
	for _, dialect := range []struct {
		name string
		d    fence.Dialect
		open func(testing.TB) *sql.DB
	}{{"sqlite", fence.SQLite, fencetest.SQLite}, {"postgres", fence.Postgres, fencetest.Postgres}} {
		b.Run(dialect.name, func(b *testing.B) {
			db := dialect.open(b)
			f := newLedger(b, db, dialect.d)
			ctx := context.Background()
			insert := insertLedger(dialect.d)
			unfenced := func() error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, insert, "unfenced", 1); err != nil {
					_ = tx.Rollback()
					return err
				}
				return tx.Commit()
			}
			fenced := func() error {
				return f.Do(ctx, "/bench", 1, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, insert, "fenced", 1)
					return err
				})
			}
			var plain, guarded time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := unfenced(); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if err := fenced(); err != nil {
					b.Fatal(err)
				}
				plain += mid.Sub(start)
				guarded += time.Since(mid)
			}
			b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "unfenced-ns/write")
			b.ReportMetric(float64(guarded.Nanoseconds())/float64(b.N), "fenced-ns/write")
			b.ReportMetric(float64(guarded)/float64(plain), "ratio")
		})
	}
}
