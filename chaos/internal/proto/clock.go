// Package proto is what the chaos suite's processes share: the machine-wide
// clock every timestamp is taken on, the events a client reports, and the
// fenced register's line protocol and records.
package proto

import (
	"time"

	"golang.org/x/sys/unix"
)

// Now is the shared clock: CLOCK_MONOTONIC, in nanoseconds.
//
// Every process of a run (harness, clients, registers) stamps what it sees
// with it, so that one process's "acquired at" can be compared with
// another's "received at". Go's own monotonic readings cannot be: each
// process counts from its own start. CLOCK_MONOTONIC is one counter for the
// whole machine (since boot), never steps, and does not stop while a
// process is stopped with SIGSTOP, which is what a paused holder needs:
// its deadline passes on the same clock as everyone else's acquisitions.
func Now() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic("chaos: clock_gettime(CLOCK_MONOTONIC): " + err.Error())
	}
	return ts.Nano()
}

// calibration pairs a time.Time (with its monotonic reading) with the
// shared clock, for FromTime.
var calibration = calibrate()

type calib struct {
	at   time.Time
	mono int64
}

// calibrate reads the shared clock on both sides of time.Now and keeps the
// tightest of a few tries. On Linux the runtime's monotonic clock is
// CLOCK_MONOTONIC itself, so the offset is constant and this pins it to
// within the width of one bracket (well under a microsecond).
func calibrate() calib {
	best := calib{}
	width := int64(-1)
	for range 16 {
		a := Now()
		t := time.Now()
		b := Now()
		if w := b - a; width < 0 || w < width {
			width = w
			best = calib{at: t, mono: a + w/2}
		}
	}
	return best
}

// FromTime converts t, which must carry a monotonic reading (time.Now()
// and times derived from it with Add do; session.Epoch.Deadline does), to
// the shared clock. The zero Time converts to 0.
func FromTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return calibration.mono + int64(t.Sub(calibration.at))
}

// Dur formats a span of the shared clock.
func Dur(ns int64) time.Duration { return time.Duration(ns) }
