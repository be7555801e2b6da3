package main

import (
	"strings"
	"testing"

	"github.com/zkcoord/zkcoord/zktest"
)

// doctor reads the test ensemble's timings (100ms ticks) and judges
// timeouts by the rule: margin ≥ tick, timeout ≥ margin + 2.75 ticks.
func TestDoctor(t *testing.T) {
	c := zktest.Shared(t)
	servers := strings.Join(c.Servers(), ",")

	r := zkcoord(t, nil, "--servers", servers, "doctor", "--session-timeout", "2s", "--json")
	if r.code != 0 {
		t.Fatalf("a 2s session at 100ms ticks: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	rep := decode[doctorReport](t, r)
	if rep.TickTimeMs != 100 || rep.Assumed || !rep.Safe || len(rep.Servers) != len(c.Servers()) {
		t.Fatalf("report %+v", rep)
	}
	if rep.Servers[0].SyncLimit == 0 || rep.Servers[0].MaxSessionMs == 0 {
		t.Fatalf("server timings missing: %+v", rep.Servers[0])
	}

	// 300ms asks for less than margin (a tick) + 2.75 ticks = 375ms.
	r = zkcoord(t, nil, "--servers", servers, "doctor", "--session-timeout", "300ms")
	if r.code != exitFailure || !strings.Contains(r.stdout, "NOT safe") || !strings.Contains(r.stdout, "375ms") {
		t.Fatalf("a 300ms session: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A margin below the tick.
	r = zkcoord(t, nil, "--servers", servers, "doctor", "--session-timeout", "2s", "--margin", "50ms")
	if r.code != exitFailure || !strings.Contains(r.stdout, "below the tickTime") {
		t.Fatalf("a 50ms margin: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := zkcoord(t, nil, "--servers", servers, "doctor", "--session-timeout", "0s"); r.code != exitUsage {
		t.Fatalf("a zero timeout: exit %d\n%s", r.code, r.stderr)
	}
}
