package main

import "testing"

// TestTargetShown: a ratio that rounds onto its bound gets a third
// decimal, so that a MISS never reads as sitting on the threshold.
func TestTargetShown(t *testing.T) {
	for _, c := range []struct {
		measured float64
		bounds   []float64
		want     string
	}{
		{0.9044, []float64{0.90}, "0.904×"},
		{0.8961, []float64{0.90}, "0.896×"},
		{0.90, []float64{0.90}, "0.90×"},
		{0.87, []float64{0.90}, "0.87×"},
		{1.196, []float64{0.80, 1.20}, "1.196×"},
		{1.37, []float64{0.80, 1.20}, "1.37×"},
	} {
		if got := (target{measured: c.measured, bounds: c.bounds}).shown(); got != c.want {
			t.Errorf("%v with bounds %v: %q, want %q", c.measured, c.bounds, got, c.want)
		}
	}
}
