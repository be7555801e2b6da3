// Package chaos is zkcoord's Jepsen-style suite: client processes contend
// for one mutex and one election on a local 3-node ensemble while a
// nemesis breaks things, every holder writes to a fenced register, and a
// checker judges the whole history afterwards.
//
// # Processes
//
// Run starts, from binaries built once (Build):
//
//   - two chaos-register processes: the fenced register, which accepts a
//     write only if its token is at least the highest it accepted for that
//     key, and an unfenced one that accepts everything. Both keep their
//     keys in a database, SQLite in Config.Dir (PostgreSQL when
//     POSTGRES_URL is set), and the fenced one checks tokens through
//     zkcoord/fence, in the write's transaction. Every holder writes
//     the same values to both, so one schedule yields both the run under
//     test and its control;
//   - Config.Clients chaos-client processes, each with one session manager
//     connected through a zktest.Link of its own (the harness passes the
//     Link's proxy addresses), contending for MutexPath and ElectionPath.
//     While holding, a client writes every ~120ms and reads once before
//     releasing; after a loss it writes three more times with its old token,
//     as a holder that wakes up late would. It reports each acquisition
//     (time, token, the lease's safe deadline), each register operation
//     (call and return times, outcome, the deadline then), and the release
//     or loss, as JSON lines on stdout.
//
// # The shared clock
//
// Every timestamp of every process is CLOCK_MONOTONIC (proto.Now), one
// counter for the machine that does not stop while a process is stopped.
// Go's monotonic readings are per process; a time.Time from the library
// (session.Epoch.Deadline) is converted with proto.FromTime, whose offset
// is calibrated at start to well under a microsecond (the Go runtime's
// monotonic clock is CLOCK_MONOTONIC on Linux, so the offset is constant).
// So a client's "acquired at", another's deadline, and the register's
// "received at" are comparable, to the nanosecond.
//
// # The nemesis
//
// One fault at a time, kinds in a seeded random order (each at least once
// per run): kill -9 the leader and restart it; kill a follower; kill two
// of three servers (quorum lost) and restart both; cut or blackhole one
// client from every server for longer than the session timeout; SIGSTOP
// the client that has just acquired the mutex, past the session timeout
// and until a newer holder has written to both registers, then SIGCONT it
// (the seed scenario); delay one client's link both ways; cut the mutex
// holder's server off from its peers (the holder keeps its links to every
// server), past the session timeout and syncLimit × tickTime; cut the
// leader off from its peers together with the clients attached to it (the
// minority side of a partition); drop what one server sends to another,
// one way. After each heal it waits until every key was acquired again,
// then pauses briefly.
//
// # Timings
//
// The ensemble runs at zktest's fast timings (100 ms tick, syncLimit × tick
// = 1 s, 2 s sessions, 1 s margin) or at ZooKeeper's shipped ones (2 s
// tick, syncLimit 5, 10 s sessions): ClusterOptions, `go run
// ./chaos/cmd/chaos -timings shipped`, or CHAOS_TIMINGS=shipped for
// TestChaos. At the shipped timings a server cut off from its peers serves
// its clients for as long as a session lasts, which is what the isolation
// faults put to the test.
//
// # The checks
//
// A hold is [acquired, end], where end is the first of the instant the
// holder stopped acting (called Unlock, or noticed the loss) and its safe
// deadline as its session epoch last knew it. A paused holder notices late,
// but its hold ends at its deadline all the same. The checker then
// requires:
//
//   - no two holds of a key overlap, and tokens grow with acquisitions;
//   - the register's history, as the clients saw it, is linearizable for a
//     fenced register (porcupine; an operation without an answer is
//     pending and may or may not have taken effect, so it is never the
//     cause of a violation); no accepted write carries a token below the
//     highest accepted before it; every write received after its hold
//     ended, once a newer token was accepted, was refused (in particular
//     every write of a paused holder after its deadline);
//   - the unfenced control shows the opposite (porcupine: Illegal; stale
//     writes accepted): proof that the checker catches what fencing
//     prevents. A run in which no pause caught a holder fails, since then
//     the control proved nothing; the nemesis retries a pause that missed;
//   - after each heal, some client acquires each key within the session
//     timeout + 2s;
//   - no lock node is left once every client has exited, and every client
//     exited cleanly on SIGTERM.
//
// The result is a table (Report.Table) with the seed, the counts and one
// row per check; Report.Violations lists what failed. TestChaos is a short
// run on a fixed seed; `make chaos DURATION=10m` (cmd/chaos) runs long on
// a random seed.
package chaos
