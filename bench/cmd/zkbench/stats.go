package main

import (
	"math"
	"slices"
	"time"
)

// summary is what the report quotes of one sample. Medians, not means: on a
// noisy two-core machine a few stalls (GC, a JVM safepoint, another
// process) would drag a mean anywhere.
type summary struct {
	n        int
	p50, p99 time.Duration
	min, max time.Duration
}

func summarize(d []time.Duration) summary {
	if len(d) == 0 {
		return summary{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return summary{n: len(s), p50: median(s), p99: rank(s, 0.99), min: s[0], max: s[len(s)-1]}
}

// median of sorted s: the mean of the two middle values when n is even.
func median(s []time.Duration) time.Duration {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// rank is the nearest-rank percentile of sorted s. With fewer than 100
// samples p99 is the maximum, which the report says by giving n.
func rank(s []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// medianFloat is the median of rates (acquisitions/s).
func medianFloat(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
