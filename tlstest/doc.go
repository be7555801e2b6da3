// Package tlstest holds tests only: zkcoord over ZooKeeper's secure client
// port, against a local TLS ensemble started by zktest (Options.TLS). A
// session, a mutex and its loss signal work through TLS and through a Link
// in front of the secure ports, and a client whose certificates do not
// match gets an error that says so.
package tlstest
