package fence_test

import (
	"testing"

	"github.com/zkcoord/zkcoord/fence/fencetest"
)

// fencetest.RunMain stops the shared PostgreSQL cluster and runs goleak;
// the one test that needs ZooKeeper starts a server of its own.
func TestMain(m *testing.M) { fencetest.RunMain(m) }
