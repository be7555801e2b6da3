package session

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Deadlines run on CLOCK_BOOTTIME, which counts suspended time, not on
// CLOCK_MONOTONIC (what Go's monotonic readings use on Linux), which does
// not: after a suspend the two differ by the time spent asleep.
func TestClockIsBootTime(t *testing.T) {
	var boot, mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
		t.Fatal(err)
	}
	got := bootNanos()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		t.Fatal(err)
	}
	if d := time.Duration(got - boot.Nano()); d < 0 || d > time.Second {
		t.Fatalf("bootNanos is %v from CLOCK_BOOTTIME", d)
	}
	if boot.Nano() < mono.Nano()-int64(time.Second) {
		t.Fatalf("CLOCK_BOOTTIME %d behind CLOCK_MONOTONIC %d", boot.Nano(), mono.Nano())
	}
	c := newClock()
	if a, b := c.now(), c.now(); a < 0 || b < a {
		t.Fatalf("clock not monotonic: %d then %d", a, b)
	}
}
