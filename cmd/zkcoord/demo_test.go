package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The demo is what a newcomer runs first (make demo): it must keep telling
// the truth. Its own checks fail it when fencing lets a stale write through;
// this test also holds it to FIFO order and increasing tokens.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node ensemble")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := runDemo(ctx, &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	acquired := regexp.MustCompile(`(worker-\d) acquired, token (\d+)`).FindAllStringSubmatch(text, -1)
	var order []string
	last := int64(0)
	for _, m := range acquired {
		order = append(order, m[1])
		tok, _ := strconv.ParseInt(m[2], 10, 64)
		if tok <= last {
			t.Errorf("token %d of %s does not exceed the previous %d", tok, m[1], last)
		}
		last = tok
	}
	if got := strings.Join(order, " "); got != "worker-1 worker-2 worker-3 worker-4 worker-5" {
		t.Errorf("workers acquired in the order %q", got)
	}
	for _, want := range []string{"stale fencing token", "sold once", "lock still held: true",
		"scheduler-b elected", "at most 2 held the API at once", "== demo finished =="} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
