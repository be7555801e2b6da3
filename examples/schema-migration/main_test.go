package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/examples/internal/storytest"
	"github.com/zkcoord/zkcoord/fence/fencetest"
	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

// The database is SQLite by default, and PostgreSQL when POSTGRES_URL is
// set: both are run.
func TestSchemaMigration(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Setenv("POSTGRES_URL", "")
		testSchemaMigration(t, "SQLite")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Setenv("POSTGRES_URL", fencetest.NewCluster(t).URL("postgres"))
		testSchemaMigration(t, "PostgreSQL")
	})
}

func testSchemaMigration(t *testing.T, database string) {
	zk := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, zk.Servers()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
	// The story, in order: each line must follow the one before.
	story := []string{
		`database: ` + database + ` .*`,
		`instance-a: migration lock acquired \(token \d+\), backfilling`,
		`instance-b: someone else is migrating; starting without migrating`,
		`instance-c: waited 200ms for the lock, gave up`,
		`operator: instance-a has held the lock since [\d:]+; deleting its node`,
		`instance-a: backfill stopped at row \d+: .*lost.*deleted`,
		`instance-b: migration lock acquired \(token \d+\), resuming at row [1-9]\d*`,
		`instance-b: backfill done; schema at version 2`,
		`database: schema version 2, 2000 of 2000 rows backfilled`,
	}
	storytest.InOrder(t, text, story...)
}
