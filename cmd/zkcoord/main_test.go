package main

import (
	"os"
	"testing"

	"github.com/zkcoord/zkcoord/zktest"
)

func TestMain(m *testing.M) {
	// The tests of lock, elect and semaphore run start this binary as
	// zkcoord itself (the same main), and as the programs zkcoord runs.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case asZkcoord:
			os.Args = append([]string{"zkcoord"}, os.Args[2:]...)
			main()
			return
		case asHelper:
			os.Exit(helper(os.Args[2:]))
		}
	}
	zktest.RunMain(m)
}
