package mutex_test

import (
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

// What an uncontended Lock and Unlock cost, round trips included: the
// figure behind Lock's advice on timeouts.
func BenchmarkUncontendedLock(b *testing.B) {
	c := zktest.Shared(b)
	dir := dirFor(b)
	m := manager(b, c.Servers(), healthy)
	lock := newMutex(b, m, dir)
	ctx := within(b, 10*time.Minute)
	var lockTime time.Duration
	for b.Loop() {
		start := time.Now()
		l, err := lock.Lock(ctx)
		if err != nil {
			b.Fatal(err)
		}
		lockTime += time.Since(start)
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lockTime.Microseconds())/float64(b.N)/1000, "ms/lock")
}
