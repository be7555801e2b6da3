package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

func TestScheduler(t *testing.T) {
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

	// Four terms, each with a higher token, each a different node from the
	// one before: a fourth term among three nodes needs a deposed node to
	// have queued up again.
	elected := regexp.MustCompile(`(?m)^(scheduler-\d): elected \(token (\d+)\), running the job$`).FindAllStringSubmatch(text, -1)
	if len(elected) != depositions+1 {
		t.Fatalf("%d terms, want %d", len(elected), depositions+1)
	}
	var leaders []string
	var lastToken int64
	for i, e := range elected {
		token, _ := strconv.ParseInt(e[2], 10, 64)
		if token <= lastToken {
			t.Errorf("term %d's token %d is not above the previous %d", i+1, token, lastToken)
		}
		if i > 0 && e[1] == leaders[i-1] {
			t.Errorf("term %d: %s leads again without another leader in between", i+1, e[1])
		}
		lastToken = token
		leaders = append(leaders, e[1])
	}

	// The operator found each leader's address where it found the leader:
	// each node campaigned with its own.
	deletions := regexp.MustCompile(`(?m)^operator: deleting the node of leader scheduler-(\d) \(at 10\.0\.0\.(\d):8080\)$`).FindAllStringSubmatch(text, -1)
	if len(deletions) != depositions {
		t.Errorf("%d deletions with the leader's address, want %d", len(deletions), depositions)
	}
	for _, d := range deletions {
		if d[1] != d[2] {
			t.Errorf("scheduler-%s reported at 10.0.0.%s", d[1], d[2])
		}
	}

	// Each deposed leader heard of its loss, and every node stopped when told.
	lost := regexp.MustCompile(`(?m)^(scheduler-\d): term lost \(`).FindAllStringSubmatch(text, -1)
	var losers []string
	for _, l := range lost {
		losers = append(losers, l[1])
	}
	deposed := slices.Clone(leaders[:depositions])
	slices.Sort(losers)
	slices.Sort(deposed)
	if got, want := strings.Join(losers, " "), strings.Join(deposed, " "); got != want {
		t.Errorf("losses reported by %q, want by the deposed leaders %q", got, want)
	}
	// A node stopped while waiting says where it waited (recipes.WaitError),
	// still ending in the context's error.
	if n := len(regexp.MustCompile(`(?m): Run returned: (.*: )?context canceled$`).FindAllString(text, -1)); n != nodes {
		t.Errorf("%d Runs returned context.Canceled, want %d", n, nodes)
	}

	// The job ran only under each term's leader, term after term, at
	// least as often as the operator waited for.
	m := regexp.MustCompile(`(?m)^job log: (.*)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("no job log in the output")
	}
	groups := strings.Fields(m[1])
	if len(groups) != len(leaders) {
		t.Fatalf("job log %q has %d terms, want %d", m[1], len(groups), len(leaders))
	}
	for i, g := range groups {
		node, count, _ := strings.Cut(g, "×")
		if n, _ := strconv.Atoi(count); node != leaders[i] || n < runsPerTerm {
			t.Errorf("job log term %d: %s, want %s at least %d times", i+1, g, leaders[i], runsPerTerm)
		}
	}
}
