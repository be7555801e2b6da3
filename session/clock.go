package session

import "time"

// clock measures the session's deadlines. It reads a clock that keeps
// running while the host is suspended (CLOCK_BOOTTIME on Linux): the
// server's expiry clock does not stop when a laptop lid closes or a VM is
// paused, so neither may ours. Go's monotonic clock does stop on Linux, so
// after a resume a deadline measured on it would look far away while the
// server has already expired the session.
type clock struct {
	wall time.Time // wall time at origin, for reporting deadlines as times
	zero int64     // boot-clock reading at origin
}

func newClock() clock { return clock{wall: time.Now(), zero: bootNanos()} }

// now is the time since the clock's origin, suspended time included.
func (c clock) now() int64 { return bootNanos() - c.zero }

// at converts an offset from the origin to a time.Time.
func (c clock) at(offset time.Duration) time.Time { return c.wall.Add(offset) }
