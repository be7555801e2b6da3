package chaos

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

// TestChaos is the short bounded run: a minute of faults on a fixed seed,
// failing on any violation. `make chaos` runs the same for longer, with a
// random seed. CHAOS_TIMINGS=shipped runs it at ZooKeeper's shipped timings
// instead of the fast ones (see Timings); each fault then lasts tens of
// seconds, so give it -timeout 30m.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: a minute of fault injection; skipped under -short")
	}
	// Build while the ensemble starts: both take seconds.
	type built struct {
		bin Binaries
		err error
	}
	ch := make(chan built, 1)
	binDir := t.TempDir()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		bin, err := Build(ctx, binDir)
		ch <- built{bin, err}
	}()
	opts, sessionTimeout, err := ClusterOptions(os.Getenv("CHAOS_TIMINGS"))
	if err != nil {
		t.Fatal(err)
	}
	c := zktest.Start(t, opts)
	b := <-ch
	c.RequireFaults(t)
	if b.err != nil {
		t.Fatal(b.err)
	}
	dir, err := os.MkdirTemp("", "chaos-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chaos: logs, events and register records kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	rep, err := Run(t.Context(), Config{
		Seed:           20260707,
		Duration:       55 * time.Second,
		SessionTimeout: sessionTimeout,
		Cluster:        c,
		Bin:            b.bin,
		Dir:            dir,
		Logf:           t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.Table())
	for _, v := range rep.Violations() {
		t.Error(v)
	}
	c.CheckClean(t, Root)
}
