package zktest

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

// waitFor polls cond until it holds, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		<-tick.C
	}
}

// recorder is a testing.TB that records failures and skips instead of
// acting on them, to test helpers that are meant to fail a test. Its Fatal
// and Skip end the calling goroutine like the real ones, so run the code
// under test with run.
type recorder struct {
	testing.TB // the real test, for Helper, Logf, Cleanup, Name...

	mu      sync.Mutex
	errors  []string
	fatal   bool
	skipped bool
}

func (r *recorder) Error(args ...any) { r.add(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) {
	r.add(fmt.Sprintf(format, args...))
}
func (r *recorder) Fail()    { r.add("Fail") }
func (r *recorder) FailNow() { r.add("FailNow"); r.end(&r.fatal) }
func (r *recorder) Fatal(args ...any) {
	r.add(fmt.Sprint(args...))
	r.end(&r.fatal)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.add(fmt.Sprintf(format, args...))
	r.end(&r.fatal)
}
func (r *recorder) Skip(args ...any) { r.add(fmt.Sprint(args...)); r.end(&r.skipped) }
func (r *recorder) Skipf(format string, args ...any) {
	r.add(fmt.Sprintf(format, args...))
	r.end(&r.skipped)
}
func (r *recorder) SkipNow() { r.end(&r.skipped) }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errors) > 0 && !r.skipped
}
func (r *recorder) Skipped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skipped
}

func (r *recorder) add(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, msg)
}

func (r *recorder) end(flag *bool) {
	r.mu.Lock()
	*flag = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// run calls f with a recorder wrapping t, in its own goroutine so that a
// recorded Fatal or Skip ends only f.
func run(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}
