// Package zktest runs real ZooKeeper for tests: a standalone server or an
// ensemble of local Java processes, each server in its own temporary
// directory on free loopback ports, with fast ticks so that session timeouts
// of one or two seconds are allowed.
//
// Faults come in two kinds. A Cluster kills and restarts servers; a Link,
// one per client under test, is a set of in-process TCP proxies that cut,
// blackhole, delay and heal that client's connections while the ensemble
// and other clients carry on, which is what a network partition looks like
// from the client's side.
//
// ZooKeeper is found through ZOOKEEPER_HOME (an unpacked Apache release) or
// Debian's zookeeper package (scripts/install-zookeeper installs it), and
// java through JAVA_HOME or PATH. Setting ZK_SERVERS=host:port,... uses that
// ensemble instead: nothing is started, servers cannot be killed, and
// RequireFaults skips the tests that would need to.
//
// A test that cannot get a ZooKeeper fails with one line saying how to get
// one, or is skipped under -short. Every package using zktest should run
// its tests through RunMain, which also fails the binary on leaked
// goroutines:
//
//	func TestMain(m *testing.M) { zktest.RunMain(m) }
//
//	func TestLockSurvivesPartition(t *testing.T) {
//		c := zktest.Start(t, zktest.Options{Nodes: 3})
//		link := c.NewLink()
//		conn := connectTo(t, link.Servers()) // the client under test
//		link.Blackhole()
//		// ... the client must notice within its session timeout ...
//		link.Heal()
//		c.CheckClean(t, "/locks", conn.SessionID())
//	}
//
// Tests can also share one 3-node ensemble per test binary through Shared,
// keeping to their own paths; Start gives a test an ensemble of its own.
package zktest
