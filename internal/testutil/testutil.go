// Package testutil holds what zkcoord's own tests share.
package testutil

import (
	"io"
	"log/slog"
	"os"
	"sort"
	"time"
)

// Logger discards unless ZKCOORD_TEST_LOG is set, so that a test's own
// output stays readable; set it to see every session transition.
func Logger() *slog.Logger {
	if os.Getenv("ZKCOORD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Median and Min of a non-empty sample.
func Median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func Min(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d[1:] {
		m = min(m, x)
	}
	return m
}
