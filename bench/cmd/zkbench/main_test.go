package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

// TestQuickRun runs the whole harness in its smoke mode and checks the
// report's shape: every section, and figures that parse. It judges no
// timing: on a shared machine that would only make the test flaky.
func TestQuickRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "RESULTS.md")
	// Some twenty seconds alone; javac and two JVMs' start can take a while
	// on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	if err := run(ctx, []string{"-quick", "-out", out}, &log); err != nil {
		if (errors.Is(err, zktest.ErrNoZooKeeper) || errors.Is(err, errNoPeer)) && testing.Short() {
			t.Skip(err)
		}
		t.Fatalf("%v\n%s", err, log.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, h := range []string{hMachine, hTargets, hSideBySide, hRoundTrips, hFloor, hUncontended, hContended, hHandoff, hReadLock, hSemaphore, hFailover, hScale,
		hScaleTargets, hScaleQueue, hScaleMemory, hScaleHandoff, hScaleLocks, hMethod} {
		if !strings.Contains(doc, "\n"+h+"\n") {
			t.Errorf("no section %q", h)
		}
	}
	if !strings.Contains(doc, "`go run ./bench/cmd/zkbench -quick -out ") {
		t.Error("the command line is missing")
	}

	machine := table(t, doc, hMachine)
	if n, err := strconv.Atoi(cell(t, machine, "CPUs (nproc)", 1)); err != nil || n < 1 {
		t.Errorf("nproc: %v", err)
	}
	for _, k := range []string{"Memory", "Go", "ZooKeeper", "Java", "Curator", "kazoo"} {
		if cell(t, machine, k, 1) == "" {
			t.Errorf("machine: %s is empty", k)
		}
	}

	targets := table(t, doc, hTargets)
	if len(targets) != 9 {
		t.Errorf("%d targets, want 9", len(targets))
	}
	for _, r := range targets {
		number(t, reTarget, r[1])
		if r[3] != "PASS" && r[3] != "MISS" {
			t.Errorf("target %q: result %q", r[0], r[3])
		}
	}

	nw := len(quickConfig.waiters)
	wantRows := map[string]int{hRoundTrips: 25, hFloor: 8, hUncontended: 4, hContended: 4, hHandoff: 4 * nw,
		hReadLock: 4, hSemaphore: 4, hFailover: 3, hSideBySide: 3 + 1 + 4 + 4 + 4*nw + 3 + 3}
	for h, n := range wantRows {
		rows := table(t, doc, h)
		if len(rows) != n {
			t.Errorf("%s: %d rows, want %d", h, len(rows), n)
		}
		for _, r := range rows {
			switch h {
			case hRoundTrips:
				for _, c := range r[1:4] {
					count(t, c)
				}
			case hFloor:
				count(t, r[1])
				millis(t, r[2])
				millis(t, r[3])
				times(t, r[4])
			case hUncontended:
				count(t, r[1])
				millis(t, r[2])
				millis(t, r[3])
				times(t, r[4])
				times(t, r[5])
			case hContended:
				if len(r) != 3+quickConfig.reps {
					t.Errorf("%v: %d columns, want %d", r, len(r), 3+quickConfig.reps)
					continue
				}
				for _, c := range r[1 : len(r)-1] {
					rate(t, c)
				}
				times(t, r[len(r)-1])
			case hReadLock:
				count(t, r[1])
				if n, want := count(t, r[2]), quickConfig.rounds*quickConfig.block*count(t, r[1]); n != want {
					t.Errorf("%v: n = %d, want %d", r, n, want)
				}
				millis(t, r[3])
				millis(t, r[4])
				times(t, r[5])
			case hSemaphore:
				count(t, r[1])
				count(t, r[2])
				if len(r) != 6+quickConfig.reps {
					t.Errorf("%v: %d columns, want %d", r, len(r), 6+quickConfig.reps)
					continue
				}
				for _, c := range r[3 : len(r)-2] {
					rate(t, c)
				}
				limit := 1
				if strings.Contains(r[0], "emaphore") {
					limit = quickConfig.semPermits
				}
				if n := count(t, r[len(r)-2]); n > limit {
					t.Errorf("%v: %d held at once, limit %d", r, n, limit)
				}
				times(t, r[len(r)-1])
			case hHandoff:
				count(t, r[1])
				if n, want := count(t, r[2]), quickConfig.passes*quickConfig.handoffs; n != want {
					t.Errorf("%v: %d handoffs, want %d", r, n, want)
				}
				millis(t, r[3])
				millis(t, r[4])
				millis(t, r[5])
				times(t, r[6])
			case hFailover:
				if n := count(t, r[1]); n != quickConfig.candidates {
					t.Errorf("%v: %d candidates, want %d", r, n, quickConfig.candidates)
				}
				if n, want := count(t, r[2]), quickConfig.passes*quickConfig.failovers; n != want {
					t.Errorf("%v: %d failovers, want %d", r, n, want)
				}
				millis(t, r[3])
				millis(t, r[4])
				times(t, r[5])
				times(t, r[6])
			case hSideBySide:
				millis(t, r[2])
				millis(t, r[3])
				if r[4] != "—" {
					times(t, r[4])
				}
				times(t, r[5])
			}
		}
	}
	checkScale(t, doc)
	// Every system of every scenario is in the side-by-side table.
	for _, name := range []string{"zkcoord mutex", "go-zookeeper zk.Lock", "Curator InterProcessMutex", "kazoo Lock",
		"Curator LeaderLatch", "kazoo Election", "zkcoord election", "Curator InterProcessSemaphoreV2", "kazoo Semaphore"} {
		if !strings.Contains(doc, "| "+name) {
			t.Errorf("side by side: no %s", name)
		}
	}
	// The chart is next to the report, an SVG, and linked from it.
	svg, err := os.ReadFile(filepath.Join(filepath.Dir(out), chartName))
	if err != nil {
		t.Error(err)
	} else if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("Curator InterProcessMutex")) {
		t.Errorf("%s is not the handoff chart", chartName)
	}
	if !strings.Contains(doc, "]("+chartName+")") {
		t.Errorf("the report does not link %s", chartName)
	}
	// The saturation checks never went over the limit. Whether they
	// reached it depends on timing, which this test does not judge.
	held := reHeld.FindAllStringSubmatch(doc, -1)
	if len(held) != 3 {
		t.Errorf("%d saturation checks, want 3", len(held))
	}
	for _, m := range held {
		if n := count(t, m[1]); m[2] != strconv.Itoa(quickConfig.semPermits) || n > quickConfig.semPermits {
			t.Errorf("saturation check: most held %s, limit %s, want at most %d", m[1], m[2], quickConfig.semPermits)
		}
	}
}

var reHeld = regexp.MustCompile(`Most held at once: (\d+) \(limit (\d+):`)

// checkScale checks section 8's tables in the quick run: a row per queue
// length, figures that parse. Whether the targets pass is not its business.
func checkScale(t *testing.T, doc string) {
	t.Helper()
	cfg := quickConfig
	lengths := dedupe(append(append([]int(nil), cfg.scaleWaiters...), cfg.scaleHandoffAt...))
	targets := table(t, doc, hScaleTargets)
	if want := 3 + len(cfg.scaleHandoffAt) - 1; len(targets) != want {
		t.Errorf("section 8: %d targets, want %d", len(targets), want)
	}
	for _, r := range targets {
		if r[3] != "PASS" && r[3] != "MISS" && r[3] != "NOT MEASURED" {
			t.Errorf("section 8 target %q: result %q", r[0], r[3])
		}
	}
	queue := table(t, doc, hScaleQueue)
	if len(queue) != len(lengths) {
		t.Errorf("%s: %d rows, want %d", hScaleQueue, len(queue), len(lengths))
	}
	for i, r := range queue {
		if i < len(lengths) && r[0] != strconv.Itoa(lengths[i]) {
			t.Errorf("%s: row %d is for %s waiters, want %d", hScaleQueue, i, r[0], lengths[i])
		}
		number(t, reSecs, r[2])
		millis(t, r[3])
		if r[6] != "0" {
			count(t, strings.Fields(r[6])[0])
		}
	}
	mem := table(t, doc, hScaleMemory)
	if len(mem) != len(lengths) {
		t.Errorf("%s: %d rows, want %d", hScaleMemory, len(mem), len(lengths))
	}
	for _, r := range mem {
		if _, err := strconv.ParseFloat(r[4], 64); err != nil {
			t.Errorf("%s: goroutines per waiter %q: %v", hScaleMemory, r[4], err)
		}
		for _, c := range r[1:4] {
			if !reKiB.MatchString(c) {
				t.Errorf("%s: %q is not in KiB", hScaleMemory, c)
			}
		}
	}
	handoff := table(t, doc, hScaleHandoff)
	if len(handoff) != len(cfg.scaleHandoffAt) {
		t.Errorf("%s: %d rows, want %d", hScaleHandoff, len(handoff), len(cfg.scaleHandoffAt))
	}
	for _, r := range handoff {
		if strings.HasPrefix(r[1], "not run") || strings.HasPrefix(r[1], "none") {
			continue // a queue that did not settle in time: timing, not shape
		}
		if n := count(t, strings.Fields(r[1])[0]); n > cfg.scaleHandoffs {
			t.Errorf("%s: %d handoffs, want at most %d", hScaleHandoff, n, cfg.scaleHandoffs)
		}
		millis(t, r[2])
		millis(t, r[3])
	}
	locks := table(t, doc, hScaleLocks)
	if len(locks) != 1 || locks[0][0] != strconv.Itoa(cfg.scaleLocks) {
		t.Errorf("%s: %v, want one row for %d locks", hScaleLocks, locks, cfg.scaleLocks)
	} else {
		number(t, reSecs, locks[0][2])
	}
}

// table returns the body rows of the first table after heading h.
func table(t *testing.T, doc, h string) [][]string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+h+"\n")
	if !ok {
		return nil
	}
	var rows [][]string
	in := false
	for line := range strings.Lines(rest) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "|") {
			if in {
				break
			}
			continue
		}
		if !in { // the header row
			in = true
			continue
		}
		if strings.HasPrefix(line, "|---") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		t.Errorf("%s: no table", h)
	}
	return rows
}

func cell(t *testing.T, rows [][]string, key string, col int) string {
	t.Helper()
	for _, r := range rows {
		if r[0] == key && col < len(r) {
			return r[col]
		}
	}
	t.Errorf("no row %q", key)
	return ""
}

var (
	reMillis = regexp.MustCompile(`^(\d+\.\d{3}) ms$`)
	reTimes  = regexp.MustCompile(`^(\d+\.\d{2})×$`)
	reTarget = regexp.MustCompile(`^(\d+\.\d{2,3})×$`) // three decimals next to a bound
	reRate   = regexp.MustCompile(`^(\d+) acq/s$`)
	reSecs   = regexp.MustCompile(`^(\d+\.\d{3}) s$`)
	reKiB    = regexp.MustCompile(`^-?\d+\.\d{2} KiB$`)
)

func number(t *testing.T, re *regexp.Regexp, s string) float64 {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Errorf("%q does not match %s", s, re)
		return 0
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f <= 0 {
		t.Errorf("%q: want a positive number (%v)", s, err)
	}
	return f
}

func millis(t *testing.T, s string) float64 { t.Helper(); return number(t, reMillis, s) }
func times(t *testing.T, s string) float64  { t.Helper(); return number(t, reTimes, s) }
func rate(t *testing.T, s string) float64   { t.Helper(); return number(t, reRate, s) }

func count(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Errorf("%q: want a positive count", s)
	}
	return n
}
