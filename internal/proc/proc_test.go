package proc

import (
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartFailureRunsNoReap(t *testing.T) {
	cmd := exec.Command(os.DevNull + "/nonexistent")
	if err := Start(cmd, func() { t.Error("reap ran after a failed start") }); err == nil {
		t.Fatal("Start of a missing program succeeded")
	}
}
