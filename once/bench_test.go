package once_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

// BenchmarkDistinctKeys is the throughput of one process completing
// distinct keys (each Do runs fn, a no-op, and records it), with 1, 10 and
// 100 keys in flight at once on one session, against the shared 3-node
// local ensemble. It reports keys/s, and what Do leaves on the server:
// markers (persistent until swept) and the per-key lock containers, which
// the server reaps once empty (zktest's servers check every 100 ms, a
// stock server every 60 s).
func BenchmarkDistinctKeys(b *testing.B) {
	c := zktest.Shared(b)
	for _, conc := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("concurrent=%d", conc), func(b *testing.B) {
			dir := dirFor(b)
			m := manager(b, c.Servers(), healthy)
			o := newOnce(b, m, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						k := next.Add(1)
						if k > int64(b.N) {
							return
						}
						ran, err := o.Do(ctx, fmt.Sprintf("key-%d", k), func(context.Context, int64) error { return nil })
						if err != nil || !ran {
							b.Errorf("key %d: ran=%v err=%v", k, ran, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
			done := countNodes(b, m, dir+"/done")
			all := countNodes(b, m, dir)
			b.ReportMetric(float64(all)/float64(b.N), "nodes/key")
			b.Logf("%d keys: %d nodes under %s, %d of them under done/ (markers, shards, buckets); the rest are lock containers not yet reaped", b.N, all, dir, done)
			removeTree(b, c, dir+"/done")
		})
	}
}
