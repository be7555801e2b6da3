package zktest

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// RunMain is a whole TestMain: it runs the tests, stops the Shared cluster,
// and, if they passed, fails the binary when goroutines outlive them, since
// a leaked goroutine in a client library is a leaked connection or timer in
// its users' programs.
//
//	func TestMain(m *testing.M) { zktest.RunMain(m) }
func RunMain(m *testing.M) {
	code := m.Run()
	stopShared()
	// After a failure, leftovers of the failed test would only bury its
	// report, as goleak.VerifyTestMain also judges.
	if code == 0 {
		if err := goleak.Find(leakOptions()...); err != nil {
			fmt.Fprintf(os.Stderr, "zktest: goroutines leaked by the tests:\n%v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// leakOptions ignores nothing beyond goleak's defaults, which already skip
// the testing package's own goroutines (RunTests, (*T).Run, Parallel,
// fuzzing) and the runtime's: anything else alive now was started by a test
// and never stopped.
func leakOptions() []goleak.Option { return nil }
