package once_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/once"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// Bad input gets a typed error, writes nothing, and calls nothing.
func TestBadInput(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)

	if _, err := once.New(nil, dir); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("nil manager: %v", err)
	}
	for _, p := range []string{"", "rel", "/", "/a//b", "/zookeeper/once"} {
		if _, err := once.New(m, p); !errors.Is(err, recipes.ErrInvalidPath) {
			t.Errorf("New(%q): %v, want ErrInvalidPath", p, err)
		}
	}
	for _, d := range []time.Duration{0, -time.Hour, 1500 * time.Millisecond} {
		if _, err := once.New(m, dir, once.WithBucket(d)); !errors.Is(err, recipes.ErrInvalidArgument) {
			t.Errorf("WithBucket(%v): %v, want ErrInvalidArgument", d, err)
		}
	}
	if _, err := once.New(m, dir, once.WithIdentity(strings.Repeat("x", recipes.MaxDataLen+1))); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("huge identity: %v", err)
	}

	o := newOnce(t, m, dir, nil) // a nil option is ignored
	fn := func(context.Context, int64) error {
		t.Error("fn called on bad input")
		return nil
	}
	for _, key := range []string{"", "a/b", ".", "..", "nul\x00", "ctl\x01", "\U0001F600", strings.Repeat("k", once.MaxKeyLen+1)} {
		if ran, err := o.Do(ctx, key, fn); ran || !errors.Is(err, recipes.ErrInvalidArgument) {
			t.Errorf("Do(%q): ran=%v err=%v, want ErrInvalidArgument", key, ran, err)
		}
	}
	if ran, err := o.Do(ctx, "k", nil); ran || !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("nil fn: ran=%v err=%v", ran, err)
	}
	// Keys that are awkward but valid node names work.
	for _, key := range []string{"zookeeper", "a b", "ü-é", strings.Repeat("k", once.MaxKeyLen), "_c_x-lock-0000000001"} {
		if ran, err := o.Do(ctx, key, func(context.Context, int64) error { return nil }); !ran || err != nil {
			t.Errorf("Do(%.20q): ran=%v err=%v", key, ran, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if ran, err := o.Do(cancelled, "late", fn); ran || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: ran=%v err=%v", ran, err)
	}
	m.Close()
	if ran, err := o.Do(ctx, "closed", fn); ran || !errors.Is(err, recipes.ErrClosed) {
		t.Errorf("closed manager: ran=%v err=%v, want ErrClosed", ran, err)
	}
	clean(t, c, dir)
}
