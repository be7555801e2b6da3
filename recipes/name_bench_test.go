package recipes

import (
	"fmt"
	"testing"
)

// Every wake-up of a waiter that cannot take the fast path sorts the whole
// queue: at a thousand waiters this was half of the handoff's growth.
func BenchmarkSortContenders1001(b *testing.B) {
	names := make([]string, 1001)
	for i := range names { // ZooKeeper lists children in no particular order
		names[i] = fmt.Sprintf("_c_%08x-0000-4000-8000-000000000000-lock-%010d", i, (i*7919)%1001)
	}
	b.ReportAllocs()
	for b.Loop() {
		SortContenders(names, MutexMarkers()...)
	}
}
