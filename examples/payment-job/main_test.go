package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/fence/fencetest"
	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

// The payments go to SQLite by default, and to PostgreSQL when
// POSTGRES_URL is set: both are run.
func TestPaymentJob(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Setenv("POSTGRES_URL", "")
		testPaymentJob(t, "SQLite")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Setenv("POSTGRES_URL", fencetest.NewCluster(t).URL("postgres"))
		testPaymentJob(t, "PostgreSQL")
	})
}

func testPaymentJob(t *testing.T, database string) {
	zk := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, zk.Servers()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
	if !strings.HasPrefix(text, "database: "+database+" ") {
		t.Errorf("the payments did not go to %s", database)
	}

	turns := regexp.MustCompile(`(replica-\d): holds the lock \(token (\d+)\): (.*)`).FindAllStringSubmatch(text, -1)
	if len(turns) != replicas {
		t.Fatalf("%d replicas held the lock, want %d", len(turns), replicas)
	}
	var last int64
	seen := map[string]bool{}
	for i, m := range turns {
		token, _ := strconv.ParseInt(m[2], 10, 64)
		if token <= last {
			t.Errorf("%s's token %d does not exceed the previous holder's %d", m[1], token, last)
		}
		last = token
		if seen[m[1]] {
			t.Errorf("%s held the lock twice", m[1])
		}
		seen[m[1]] = true
		wantPaying := i == 0
		if paying := m[3] == "paying the batch"; paying != wantPaying {
			t.Errorf("turn %d: %s %q", i+1, m[1], m[3])
		}
		if i > 0 && m[3] != "batch already paid by "+turns[0][1]+", nothing to do" {
			t.Errorf("turn %d: %s %q, want it to see %s paid", i+1, m[1], m[3], turns[0][1])
		}
	}
	if want := "database: 3 payments, batch paid 1 time(s), 0 stale writes refused"; !strings.Contains(text, want) {
		t.Errorf("output lacks %q", want)
	}
}
