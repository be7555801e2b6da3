package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

// 200 ids, each delivered to each of 4 workers: every id is processed
// exactly once, and the workers' own counts add up to that.
func TestDedupe(t *testing.T) {
	zk := zktest.Shared(t)
	for round := range 2 { // the second run starts afresh, as the first
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var out bytes.Buffer
		err := run(ctx, &out, zk.Servers())
		cancel()
		if err != nil {
			t.Fatalf("round %d: run: %v\n%s", round, err, out.String())
		}
		text := out.String()
		t.Log("\n" + text)
		lines := regexp.MustCompile(`(worker-\d): (\d+) delivered, (\d+) processed, (\d+) skipped as done`).FindAllStringSubmatch(text, -1)
		if len(lines) != workers {
			t.Fatalf("round %d: %d workers reported, want %d", round, len(lines), workers)
		}
		processed, skipped := 0, 0
		for _, l := range lines {
			p, _ := strconv.Atoi(l[3])
			s, _ := strconv.Atoi(l[4])
			if d, _ := strconv.Atoi(l[2]); p+s != d || d != messages {
				t.Errorf("round %d: %s: %s delivered, %d processed + %d skipped", round, l[1], l[2], p, s)
			}
			processed += p
			skipped += s
		}
		if processed != messages || skipped != messages*(workers-1) {
			t.Errorf("round %d: workers processed %d and skipped %d; want %d and %d", round, processed, skipped, messages, messages*(workers-1))
		}
		want := fmt.Sprintf("ledger: %d ids, %d deliveries, %d processed, at most 1 time(s) per id, 0 stale tokens refused", messages, messages*workers, messages)
		if !strings.Contains(text, want) {
			t.Errorf("round %d: output lacks %q", round, want)
		}
	}
}
