package zktest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Start is New for one test: the cluster is stopped when the test ends, and
// the servers' logs are written to the test's log if it failed. When no
// ZooKeeper can be found or started, the test is skipped under -short and
// fails otherwise, with one line saying how to get one.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	c, err := New(opts)
	if errors.Is(err, errExternalTLS) {
		t.Skip(err) // the external ensemble serves the other tests
	}
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.writeLogs(t.Logf)
		}
		c.Stop()
	})
	return c
}

// shared is the package-wide cluster behind Shared.
var shared struct {
	mu       sync.Mutex
	started  bool
	c        *Cluster
	err      error
	startLog string // server logs of a failed start, shown once
}

// Shared returns a 3-node cluster started on first use and shared by every
// test in the binary until RunMain stops it. Tests sharing it keep to their
// own paths; one that kills a server should restart it before it ends, and
// must not run in parallel with others, but Shared also restarts any server
// an earlier test left dead, so each test starts with the whole ensemble
// serving. Links stay the caller's. If the
// test fails, the servers' logs are written to its log. Shared skips or fails
// like Start.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	if !shared.started {
		shared.started = true
		var log strings.Builder
		shared.c, shared.err = New(Options{Nodes: 3, Logf: func(format string, args ...any) {
			// Not the first caller's t.Logf: the error is reported to
			// later tests too, after that one has ended.
			fmt.Fprintf(&log, format+"\n", args...)
		}})
		if shared.err != nil {
			shared.startLog = log.String()
		}
	}
	c, err, startLog := shared.c, shared.err, shared.startLog
	shared.startLog = ""
	if err == nil {
		// Under the lock, so parallel callers do not restart the same
		// server twice.
		err = c.reviveAll()
		if err != nil {
			c.writeLogs(t.Logf)
			err = fmt.Errorf("zktest: reviving the shared ensemble: %w", err)
		}
	}
	shared.mu.Unlock()
	if err != nil {
		if startLog != "" {
			t.Log(startLog)
		}
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.writeLogs(t.Logf)
		}
	})
	return c
}

// stopShared stops the shared cluster, if one was started, and lets the next
// Shared start a new one.
func stopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c != nil {
		shared.c.Stop()
	}
	shared.started, shared.c, shared.err, shared.startLog = false, nil, nil, ""
}

// unavailable ends a test that cannot get a ZooKeeper: a skip under -short,
// where tests without servers are expected to pass alone, else a failure.
func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if testing.Short() {
		t.Skip(msg)
	}
	t.Fatal(msg)
}
