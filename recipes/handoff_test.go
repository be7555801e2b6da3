package recipes

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

// watching waits until the session watches path on some server.
func watching(t *testing.T, ctx context.Context, c *zktest.Cluster, sessionID int64, path string) {
	t.Helper()
	for {
		w, err := c.Watches()
		if err == nil && slices.Contains(w[sessionID], path) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("session 0x%x never watched %s (%v)", sessionID, path, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A waiter right behind the holder takes over on the holder's deletion
// alone, with no read after it: so it must hear first of its own node's
// deletion, by an operator say, and list instead of taking a lock it no
// longer queues for. The waiter behind it, which sees the same queue, must
// be the one that gets it: two holders otherwise.
func TestHandoffHearsOfItsOwnNodeFirst(t *testing.T) {
	c := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := "/zkcoord-test/recipes/own-node"
	qs, eps := markingQueues(t, ctx, c, dir, 3)
	holder, err := qs[0].Acquire(ctx, MarkerLock, nil, Exclusive, false)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		l   *Lease
		err error
	}
	second, third := make(chan result, 1), make(chan result, 1)
	go func() { l, err := qs[1].Acquire(ctx, MarkerLock, nil, Exclusive, false); second <- result{l, err} }()
	watching(t, ctx, c, eps[1].SessionID(), holder.Path())
	go func() { l, err := qs[2].Acquire(ctx, MarkerLock, nil, Exclusive, false); third <- result{l, err} }()
	waitChildren(t, ctx, eps[0], dir, 3)
	kids, _, _ := eps[0].Children(ctx, dir)
	queue := SortContenders(kids, MarkerLock)
	secondPath := Join(dir, queue[1].Name)
	watching(t, ctx, c, eps[2].SessionID(), secondPath)
	// Both waiters now watch their predecessor, and the second its own node.
	watching(t, ctx, c, eps[1].SessionID(), secondPath)

	if err := eps[0].Delete(ctx, secondPath, -1); err != nil {
		t.Fatal(err)
	}
	if err := holder.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-third
	if r.err != nil {
		t.Fatalf("third: %v", r.err)
	}
	defer r.l.Release(ctx)
	select {
	case s := <-second:
		if s.err == nil {
			s.l.Release(ctx)
			t.Fatal("second took the lock although its node was deleted: two holders")
		}
		if !errors.Is(s.err, ErrLost) {
			t.Fatalf("second: %v, want ErrLost", s.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second neither held nor gave up")
	}
}
