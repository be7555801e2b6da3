// Package zktest runs real ZooKeeper for tests: a standalone server or an
// ensemble of local Java processes, each server in its own temporary
// directory on loopback ports reserved for the cluster's life outside the
// kernel's ephemeral range (so no outgoing connection is ever given one, and
// a restarted server gets its own back), with fast ticks so that session
// timeouts of one or two seconds are allowed.
//
// Faults come in three kinds. A Cluster kills and restarts servers; a Link,
// one per client under test, is a set of in-process TCP proxies that cut,
// blackhole, delay and heal that client's connections while the ensemble
// and other clients carry on, which is what a network partition looks like
// from the client's side. And every link between two servers (quorum and
// election ports) passes a proxy of its own too: each server's zoo.cfg
// lists its peers at proxies dedicated to the pair, so Isolate cuts one
// server (or the leader) off from its peers while its clients stay
// attached, CutPeer drops one direction between two servers, and HealPeers
// restores them. A follower cut off from the leader keeps answering its
// clients for up to SyncLimit ticks, and that is what these faults let a
// test see, at the fast default timings or at ShippedTimings, ZooKeeper's
// own:
//
//	opts := zktest.ShippedTimings // tickTime 2 s, syncLimit 5, sessions up to 40 s
//	opts.Nodes = 3
//	c := zktest.Start(t, opts)
//	leader, _ := c.Leader()
//	follower := (leader + 1) % 3
//	link := c.NewLinkTo(follower) // a client that reaches this server only
//	_ = c.Isolate(follower)
//	// ... for up to 10 s the follower answers the client by itself ...
//	_ = c.HealPeers()
//
// The Docker provider puts quorum and election traffic on an internal
// network of its own, apart from the published client ports: Isolate
// disconnects a container from it (a real network partition, clients still
// attached) and HealPeers connects it again. One-way cuts need the
// proxies: CutPeer fails with the Docker provider.
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
//
// # TLS
//
// With Options.TLS, every server also opens a secure client port, served by
// ZooKeeper's Netty connection factory (from Debian, the netty codec,
// resolver and native-common jars are put on the classpath, since
// zookeeper.jar's manifest does not name them). New generates a throwaway
// CA, a server certificate for 127.0.0.1 and localhost and a client
// certificate, in Go, and writes them as PEM key and trust stores into the
// cluster's temporary directory. Servers require a client certificate from
// that CA (ssl.clientAuth=need) and authenticate it with the x509 scheme as
// "CN=zktest client". The plain ports stay open. TLSServers lists the
// secure addresses, ClientTLS returns the matching client *tls.Config, and
// NewTLSLink puts a Link's proxies in front of the secure ports; the TLS
// stream passes through them untouched, so a cut or blackholed TLS link
// behaves like a plain one. New and Restart return once each server has
// completed a TLS handshake, so a fresh JVM's slow first handshake does not
// fall on the client under test:
//
//	c := zktest.Start(t, zktest.Options{Nodes: 3, TLS: true})
//	link := c.NewTLSLink()
//	m, err := session.New(ctx, session.Config{
//		Servers: link.Servers(), SessionTimeout: time.Second,
//		Dialer:  session.TLSDialer(c.ClientTLS()),
//	})
//
// TLS needs local servers: under ZK_SERVERS, New fails and Start skips.
package zktest
