package recipes

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// records keeps every log record at Warn or above.
type records struct {
	mu  sync.Mutex
	got []slog.Record
}

func (r *records) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, rec.Clone())
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) matching(s string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.got {
		if strings.Contains(rec.Message, s) {
			out = append(out, rec)
		}
	}
	return out
}

// A goroutine that takes a lock twice waits forever: the lock is not
// reentrant. It is told once, at Warn, when its only blocker has been a
// lease of its own session for a while; a wait behind another session's
// lease is not reported.
func TestSelfBlockedWaiterWarnsOnce(t *testing.T) {
	c := zktest.Shared(t)
	defer func(d time.Duration) { selfBlockWarnAfter = d }(selfBlockWarnAfter)
	selfBlockWarnAfter = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := &records{}
	m, err := session.New(ctx, session.Config{Servers: c.Servers(), SessionTimeout: 8 * time.Second, Logger: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	other := manager(t, c)
	dir := "/zkcoord-test/recipes/selfblock"
	q, _ := NewQueue(m, dir, nil, MarkerLock)
	oq, _ := NewQueue(other, dir, nil, MarkerLock)
	const msg = "waiting for a lease held by this same session"

	// Behind another session's lease: no warning, however long.
	theirs, err := oq.Acquire(ctx, MarkerLock, nil, Exclusive, false)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithTimeout(ctx, 4*selfBlockWarnAfter)
	_, err = q.Acquire(wctx, MarkerLock, nil, Exclusive, false)
	stop()
	if err == nil || len(log.matching(msg)) != 0 {
		t.Fatalf("behind another session: %v, warnings %d", err, len(log.matching(msg)))
	}
	theirs.Release(ctx)

	// Behind our own: one warning naming the blocker, then the wait goes on.
	ours, err := q.Acquire(ctx, MarkerLock, nil, Exclusive, false)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop = context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() {
		_, err := q.Acquire(wctx, MarkerLock, nil, Exclusive, false)
		waited <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for len(log.matching(msg)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no warning for a waiter blocked by its own session's lease")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A repeated warning is an absence only time can show: give it several
	// thresholds' worth to appear (no condition to wait for stands in).
	time.Sleep(5 * selfBlockWarnAfter)
	stop()
	if err := <-waited; err == nil {
		t.Fatal("second Acquire succeeded while the first lease was held")
	}
	warns := log.matching(msg)
	if len(warns) != 1 {
		t.Fatalf("%d warnings, want 1", len(warns))
	}
	blocker := ""
	warns[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "blocker" {
			blocker = a.Value.String()
		}
		return true
	})
	if blocker != ours.Path() {
		t.Fatalf("warning names blocker %q, want %q", blocker, ours.Path())
	}
	ours.Release(ctx)
}
