// Package interop holds tests, and nothing else, that run zkcoord's recipes
// against the clients it shares its ZooKeeper layouts with: Apache Curator
// (Java) and kazoo (Python), each as a small driver process under the Go
// test's control, all on one zktest ensemble.
//
// The drivers live in testdata: java/CuratorDriver.java, compiled with javac
// once per test binary against the Curator and ZooKeeper jars Debian
// installs in /usr/share/java (ZKCOORD_CURATOR_JARS names another directory
// of jars), and kazoo_driver.py, run by the Python that has kazoo
// (/usr/bin/python3, or ZKCOORD_KAZOO_PYTHON). They read one command per line
// on stdin ("lock c1", "once c1 /root", ...) and answer on stdout ("locked
// c1", "once c1 ok"), so the test decides who queues when; they exit when
// stdin closes. The Go side speaks the same protocol in process.
//
// scripts/install-peers (run by make test) installs Curator, kazoo and a
// JDK. Without them the tests fail, saying so; they are skipped only under
// -short.
package interop
