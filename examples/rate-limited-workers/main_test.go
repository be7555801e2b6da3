package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

func TestRateLimitedWorkers(t *testing.T) {
	zk := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, &out, zk.Servers())
	text := out.String()
	t.Log("\n" + text)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := strings.Count(text, " calls done, "); n != workers {
		t.Errorf("%d workers finished, want %d", n, workers)
	}
	m := regexp.MustCompile(`(?m)^api: (\d+) calls, at most (\d+) at once, (\d+) refused$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("no api summary in the output")
	}
	calls, _ := strconv.Atoi(m[1])
	most, _ := strconv.Atoi(m[2])
	if calls != workers*callsPerWorker || most < 1 || most > permits || m[3] != "0" {
		t.Errorf("api saw %s calls (want %d), at most %s at once (want 1..%d), %s refused (want 0)",
			m[1], workers*callsPerWorker, m[2], permits, m[3])
	}
}
