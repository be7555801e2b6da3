package once_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/once"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// Sweep never takes the bucket still being written, takes a bucket once
// it is older than asked, ignores what is not a bucket, and a key whose
// marker was swept runs again.
func TestSweepForgetsOldBuckets(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	const width = 2 * time.Second
	o := newOnce(t, m, dir, once.WithBucket(width))
	const keys = 40 // spread over the shards
	runs := 0
	doAll := func() {
		for k := range keys {
			if _, err := o.Do(ctx, fmt.Sprintf("key-%d", k), func(context.Context, int64) error {
				runs++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	doAll()
	if runs != keys {
		t.Fatalf("%d runs, want %d", runs, keys)
	}
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stray := dir + "/done/not-a-bucket"
	if _, err := ep.Create(ctx, stray, nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	// The buckets end within width; once they have, a Sweep that asks for
	// everything older than now takes every marker, whichever bucket each
	// went to.
	removed := 0
	eventually(t, 3*width+10*time.Second, "every marker swept", func() bool {
		n, err := o.Sweep(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		removed += n
		return removed == keys
	})
	buckets, _, err := ep.Children(ctx, dir+"/done")
	if err != nil || len(buckets) != 1 || buckets[0] != "not-a-bucket" {
		t.Errorf("left under done/: %v %v; want only the stray node", buckets, err)
	}
	doAll()
	if runs != 2*keys {
		t.Errorf("%d runs after the sweep, want every key run again (%d)", runs, 2*keys)
	}
	clean(t, c, dir, m)
}

// The bucket being written is never swept, even by Sweep(0), and a
// bucket younger than olderThan is kept, markers and all.
func TestSweepKeepsRecentBuckets(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	o := newOnce(t, m, dir) // hour-long buckets
	before := time.Now()
	if _, err := o.Do(ctx, "k", func(context.Context, int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	n, err := o.Sweep(ctx, 0)
	if sameHour := time.Now().Truncate(time.Hour).Equal(before.Truncate(time.Hour)); err != nil || sameHour && n != 0 {
		t.Fatalf("Sweep(0) within the bucket's hour: removed %d, %v; want 0", n, err)
	}
	short := newOnce(t, m, dir, once.WithBucket(time.Second))
	if _, err := short.Do(ctx, "s", func(context.Context, int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n, err := short.Sweep(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("Sweep(1h) right after: removed %d, %v; want 0", n, err)
	}
	ran, err := o.Do(ctx, "k", func(context.Context, int64) error { return nil })
	if ran || err != nil {
		t.Fatalf("Do after Sweep(1h): ran=%v err=%v; want the key still done", ran, err)
	}
	if _, err := o.Sweep(ctx, -time.Second); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("Sweep(-1s): %v, want ErrInvalidArgument", err)
	}
	clean(t, c, dir, m)
}
