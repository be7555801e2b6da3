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

func TestConfigReload(t *testing.T) {
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
	if strings.Contains(text, "TORN") {
		t.Error("a reader saw half an update")
	}
	writes := regexp.MustCompile(`(?m)^writer: generation (\d+) written \(token (\d+)\)$`).FindAllStringSubmatch(text, -1)
	if len(writes) != updates {
		t.Errorf("%d updates written, want %d", len(writes), updates)
	}
	var lastToken int64
	for _, w := range writes {
		token, _ := strconv.ParseInt(w[2], 10, 64)
		if token <= lastToken {
			t.Errorf("generation %s written under token %d, not above the previous %d", w[1], token, lastToken)
		}
		lastToken = token
	}
	// Every reader read generation 0 before the writer started and the
	// last one after it finished, each consistent.
	summaries := regexp.MustCompile(`(?m)^reader-\d+: \d+ reads, (\d+) generations seen, last (\d+), 0 torn$`).FindAllStringSubmatch(text, -1)
	if len(summaries) != readers {
		t.Fatalf("%d readers reported a consistent run, want %d", len(summaries), readers)
	}
	for _, s := range summaries {
		if n, _ := strconv.Atoi(s[1]); n < 2 || s[2] != strconv.Itoa(updates) {
			t.Errorf("a reader saw %s generations, the last %s; want at least 2, the last %d", s[1], s[2], updates)
		}
	}
}
