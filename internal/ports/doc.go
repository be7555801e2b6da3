// Package ports reserves loopback TCP ports for servers that tests start in
// other processes: ZooKeeper's JVMs, PostgreSQL, Docker's port mappings.
//
// Asking the kernel for a free port (listening on port 0, then closing) and
// handing the number to a child races with everything else on the machine:
// until the child binds it, the port is back in the kernel's ephemeral range,
// where any outgoing connection may be given it. A test run starts dozens of
// ensembles whose servers and proxies make thousands of such connections, and
// a ZooKeeper follower binds its quorum port only if it becomes leader, which
// may be minutes after the port was picked. So Reserve picks ports below the
// ephemeral range, which the kernel never hands out on its own, and takes a
// lock file per port, which other test processes on the machine respect and
// the kernel drops when the holder dies, however it dies.
package ports
