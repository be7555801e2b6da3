package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/examples/internal/storytest"
	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

func TestDeployLock(t *testing.T) {
	zk := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, zk.Servers()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
	story := []string{
		`alice@laptop: deploying to staging \(token \d+\)`,
		`ci-runner-7: deploying to production \(token \d+\)`,
		`bob@laptop: staging is busy: alice@laptop has been deploying since [\d:]+; queueing`,
		`status board:`,
		`  staging +alice@laptop since [\d:]+, waiting: \[bob@laptop\]`,
		`  production +ci-runner-7 since [\d:]+, waiting: \[\]`,
		`  qa +free`,
		`alice@laptop: done, unlocking`,
		`bob@laptop: deploying to staging \(token \d+\)`,
		`status board:`,
		`  staging +bob@laptop since [\d:]+, waiting: \[\]`,
		`  production +ci-runner-7 since [\d:]+, waiting: \[\]`,
		`  qa +free`,
	}
	storytest.InOrder(t, text, story...)
}
