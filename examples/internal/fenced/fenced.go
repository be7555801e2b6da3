// Package fenced is what the examples protect with a lock: a stand-in for
// a database or an API that checks fencing tokens.
//
// No lock can stop a holder that paused (a GC pause, a stopped VM) from
// acting after it lost the lock: only the resource can refuse it. A Fence
// remembers the highest token it has seen and refuses writes that carry a
// lower one, so once a newer holder has written, an older one cannot.
package fenced

import (
	"fmt"
	"sync"
)

// Fence serialises the writes and reads of the data it guards, and refuses
// stale writes.
type Fence struct {
	mu      sync.Mutex
	highest int64
	refused int
}

// Write calls apply if token is not below the highest token seen so far,
// and otherwise refuses it with an error.
func (f *Fence) Write(token int64, apply func()) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token < f.highest {
		f.refused++
		return fmt.Errorf("stale fencing token %d < %d: write refused", token, f.highest)
	}
	f.highest = token
	apply()
	return nil
}

// Read calls read with no write under way.
func (f *Fence) Read(read func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	read()
}

// Refused is how many writes were refused.
func (f *Fence) Refused() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused
}
