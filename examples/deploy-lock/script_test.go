package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

// deploy stands in for a deploy: it claims a marker file with O_EXCL (the
// shell's noclobber), so that two deploys at once fail, and logs its start
// and end around a moment's work.
const deploy = `set -C
: > "$MARKER" || { echo "overlap $JOB" >> "$LOG"; exit 3; }
echo "start $JOB $1 $ZKCOORD_FENCING_TOKEN" >> "$LOG"
sleep 0.2
echo "end $JOB" >> "$LOG"
rm "$MARKER"`

// Two copies of ci-deploy.sh, three deploys each, at once: they take turns.
func TestCIDeployScript(t *testing.T) {
	zk := zktest.Shared(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "zkcoord")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/zkcoord/zkcoord/cmd/zkcoord").CombinedOutput(); err != nil {
		t.Fatalf("building zkcoord: %v\n%s", err, out)
	}
	log := filepath.Join(tmp, "deploys.log")
	env := strings.NewReplacer(":", "-", "/", "-").Replace(t.Name() + time.Now().Format("150405.000"))
	var wg sync.WaitGroup
	for _, job := range []string{"A", "B"} {
		wg.Go(func() {
			for i := range 3 {
				cmd := exec.CommandContext(ctx, "./ci-deploy.sh", env)
				cmd.Env = append(os.Environ(),
					"ZK_SERVERS="+strings.Join(zk.Servers(), ","), "ZKCOORD="+bin,
					"DEPLOY_COMMAND="+deploy, "DEPLOY_LOCK_TIMEOUT=2m",
					"MARKER="+filepath.Join(tmp, "marker"), "LOG="+log, fmt.Sprintf("JOB=%s%d", job, i))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("job %s%d: %v\n%s", job, i, err, out)
				}
			}
		})
	}
	wg.Wait()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", data)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 12 {
		t.Fatalf("%d lines, want a start and an end for each of 6 deploys", len(lines))
	}
	last := int64(0)
	for i := 0; i < len(lines); i += 2 {
		var job, environment string
		var token int64
		if _, err := fmt.Sscanf(lines[i], "start %s %s %d", &job, &environment, &token); err != nil || environment != env {
			t.Fatalf("line %d: %q is not a deploy's start", i+1, lines[i])
		}
		if lines[i+1] != "end "+job {
			t.Errorf("line %d: %q, not %q's end: deploys overlapped", i+2, lines[i+1], job)
		}
		if token <= last {
			t.Errorf("deploy %s: token %d after %d", job, token, last)
		}
		last = token
	}
}
