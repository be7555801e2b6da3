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

// The stock is kept in SQLite by default, and in PostgreSQL when
// POSTGRES_URL is set: both are run.
func TestLastItem(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Setenv("POSTGRES_URL", "")
		testLastItem(t, "SQLite")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Setenv("POSTGRES_URL", fencetest.NewCluster(t).URL("postgres"))
		testLastItem(t, "PostgreSQL")
	})
}

func testLastItem(t *testing.T, database string) {
	zk := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, zk.Servers()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
	if !strings.Contains(text, "; database: "+database+" ") {
		t.Errorf("the stock was not kept in %s", database)
	}

	// Each sale saw one item fewer than the one before, down to zero, and
	// every later buyer found the shelf empty.
	sales := regexp.MustCompile(`(?m)^buyer-\d+: bought one \(token (\d+)\), (-?\d+) left$`).FindAllStringSubmatch(text, -1)
	if len(sales) != inStock {
		t.Errorf("%d sales of %d items", len(sales), inStock)
	}
	var lastToken int64
	for i, s := range sales {
		token, _ := strconv.ParseInt(s[1], 10, 64)
		if left, _ := strconv.Atoi(s[2]); left != inStock-1-i {
			t.Errorf("sale %d left %d in stock, want %d", i+1, left, inStock-1-i)
		}
		if token <= lastToken {
			t.Errorf("sale %d under token %d, not above the previous sale's %d", i+1, token, lastToken)
		}
		lastToken = token
	}
	if n := strings.Count(text, ": sold out\n"); n != buyers-inStock {
		t.Errorf("%d buyers found it sold out, want %d", n, buyers-inStock)
	}
	if !strings.HasSuffix(text, "shop: 0 left in stock\n") {
		t.Errorf("the stock does not end at 0")
	}
}
