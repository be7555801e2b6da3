//go:build !linux

package session

// Elsewhere the runtime's monotonic clock is the best at hand: on macOS and
// Windows it keeps counting through sleep, on the BSDs it may not.
func bootNanos() int64 { return monoNanos() }
