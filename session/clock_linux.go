package session

import "golang.org/x/sys/unix"

func bootNanos() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return monoNanos()
	}
	return ts.Nano()
}
