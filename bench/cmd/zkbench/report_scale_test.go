package main

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWithScale: -scale N keeps the default sizes below N and adds N.
func TestWithScale(t *testing.T) {
	c := fullConfig.withScale(3000)
	if want := []int{1000, 2000, 3000}; !slices.Equal(c.scaleWaiters, want) {
		t.Errorf("waiters %v, want %v", c.scaleWaiters, want)
	}
	if want := []int{10, 1000, 3000}; !slices.Equal(c.scaleHandoffAt, want) {
		t.Errorf("handoffs at %v, want %v", c.scaleHandoffAt, want)
	}
	if c.scaleLocks != 3000 {
		t.Errorf("locks %d, want 3000", c.scaleLocks)
	}
	if c := fullConfig.withScale(10000); !slices.Equal(c.scaleWaiters, fullConfig.scaleWaiters) || !slices.Equal(c.scaleHandoffAt, fullConfig.scaleHandoffAt) {
		t.Errorf("-scale 10000 changed the defaults: %v, %v", c.scaleWaiters, c.scaleHandoffAt)
	}
	if c := fullConfig.withScale(0); len(c.scaleWaiters)+len(c.scaleHandoffAt)+c.scaleLocks != 0 {
		t.Errorf("-scale 0 left %v, %v, %d", c.scaleWaiters, c.scaleHandoffAt, c.scaleLocks)
	}
	// The default list is not shared with the result.
	c = fullConfig.withScale(20000)
	c.scaleWaiters[0] = 1
	if fullConfig.scaleWaiters[0] != 1000 {
		t.Error("withScale wrote into fullConfig")
	}
}

// TestScaleReportPartial renders section 8 alone (-only scale) from a run
// that hit its limits: what did not finish says so, nothing else is shown.
func TestScaleReportPartial(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	r := report{only: scenarioScale, started: time.Now(), scale: scaleResult{
		ran: true, server: "127.0.0.1:2181", role: "follower", limit: time.Minute, budget: 5 * time.Minute, watches: true,
		settle: ms(20), skip: 20, want: 200, sweep: []int{1000, 10000}, handoffs: []int{10, 1000, 10000},
		queues: []scaleQueue{
			{n: 10, queued: 10, nodes: ms(50), parked: ms(60), allNodes: true, allParked: true, watched: 10, handoff: true,
				samples: []time.Duration{ms(5), ms(6)}, listing: ms(1), settle: ms(22), mem: scaleMem{heap: 10 << 10, stack: 80 << 10, goroutines: 10}},
			{n: 1000, queued: 1000, nodes: ms(1500), parked: ms(4000), allNodes: true, allParked: true, watched: 1000, handoff: true,
				samples: []time.Duration{ms(6), ms(7)}, listing: ms(1), settle: ms(22), mem: scaleMem{heap: 3 << 20, stack: 8 << 20, goroutines: 1000}},
			{n: 10000, queued: 10000, nodes: ms(33000), parked: ms(60000), allNodes: true, watched: 8, handoff: true,
				noHandoff: "the queue had not settled within 1m0s", mem: scaleMem{heap: 3 << 30, stack: 100 << 20, goroutines: 24700}},
		},
		locks: scaleLocks{n: 10000, skipped: true},
	}}
	doc := r.markdown()
	for _, h := range []string{hMachine, hScale, hScaleTargets, hScaleQueue, hScaleMemory, hScaleHandoff, hScaleLocks} {
		if !strings.Contains(doc, "\n"+h+"\n") {
			t.Errorf("no section %q", h)
		}
	}
	for _, h := range []string{"\n" + hTargets + "\n", hSideBySide, "\n" + hHandoff + "\n", hMethod, "| Curator |"} {
		if strings.Contains(doc, h) {
			t.Errorf("-only scale wrote %q", h)
		}
	}
	for _, want := range []string{
		"| 10000 | 10000 | 33.000 s | 3.300 ms | not within 60.000 s (8 of 10000 watches set) |",
		"| 10000 | not run: the queue had not settled within 1m0s |",
		"| Handoff median at 10000 waiters ÷ at 10, one session | — | 0.80×–1.20× (within 20 %) | NOT MEASURED |",
		"| Handoff median at 1000 waiters ÷ at 10, one session | 1.18× |",
		"measured at the limit, before all were parked",
		"| 10000 | not run: budget spent |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the report does not say %q", want)
		}
	}
	if t.Failed() {
		t.Log(doc)
	}
}

// TestPeakHeap: the sampler reports a peak, and calls over once the live
// heap passes the cap.
func TestPeakHeap(t *testing.T) {
	runtime.GC() // the live heap is known from the first collection on
	calls := 0
	stop := peakHeap(1, func() { calls++ })
	time.Sleep(250 * time.Millisecond)
	if peak := stop(); peak == 0 {
		t.Error("no peak")
	}
	if calls != 1 {
		t.Errorf("over called %d times, want 1", calls)
	}
	if c := heapCap(); c == 0 || c > 12<<30 {
		t.Errorf("heap cap %d", c)
	}
}
