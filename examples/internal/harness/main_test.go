package harness

import (
	"os"
	"testing"

	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperMain() // the example process of TestSignalReleasesLocks
		return
	}
	zktest.RunMain(m)
}
