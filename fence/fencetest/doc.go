// Package fencetest gives tests real databases for fence: a fresh
// PostgreSQL database per test (on a throwaway cluster of local processes,
// or on the server POSTGRES_URL names) and a fresh SQLite file.
//
// The cluster is started once per test binary, on first use, from the
// server binaries of Debian's postgresql package (scripts/install-postgres;
// as root it runs as the postgres user), in a temporary directory with its
// unix socket there, and TCP on a port of 127.0.0.1 reserved outside the
// kernel's ephemeral range (internal/ports). RunMain stops it:
//
//	func TestMain(m *testing.M) { fencetest.RunMain(m) }
//
// A test that finds no PostgreSQL is skipped under -short and fails
// otherwise, with the command that installs it.
package fencetest
