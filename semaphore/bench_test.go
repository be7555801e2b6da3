package semaphore_test

import (
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

// What an uncontended Acquire and Release cost: the figure behind
// Acquire's advice on timeouts.
func BenchmarkUncontendedAcquire(b *testing.B) {
	c := zktest.Shared(b)
	dir := dirFor(b)
	m := manager(b, c.Servers(), healthy)
	sem := newSemaphore(b, m, dir, 4)
	ctx := within(b, 10*time.Minute)
	var acquireTime time.Duration
	for b.Loop() {
		start := time.Now()
		l, err := sem.Acquire(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		acquireTime += time.Since(start)
		if err := l.Release(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(acquireTime.Microseconds())/float64(b.N)/1000, "ms/acquire")
}
