package chaos

import (
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

// Timings are the ensemble timings a run can use, by name:
//
//   - "fast", zktest's default: a 100 ms tick, syncLimit × tickTime = 1 s,
//     2 s sessions, so a minute covers every fault kind (TestChaos);
//   - "shipped", ZooKeeper's sample zoo.cfg (zktest.ShippedTimings): a 2 s
//     tick, syncLimit 5, 10 s sessions, the timings users run, at which a
//     server cut off from its peers serves its clients for 10 s, as long as
//     the session itself.
var Timings = []string{"fast", "shipped"}

// ClusterOptions returns the options of a 3-node ensemble at the named
// timings, and the session timeout clients ask for there.
func ClusterOptions(timings string) (zktest.Options, time.Duration, error) {
	switch timings {
	case "", "fast":
		return zktest.Options{Nodes: 3}, 2 * time.Second, nil
	case "shipped":
		opts := zktest.ShippedTimings
		opts.Nodes = 3
		return opts, 10 * time.Second, nil
	}
	return zktest.Options{}, 0, fmt.Errorf("chaos: unknown timings %q (want one of %v)", timings, Timings)
}
