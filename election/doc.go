// Package election is leader election across processes, on ZooKeeper.
//
// Candidates queue as EPHEMERAL_SEQUENTIAL nodes of one directory, in the
// layout of Curator's LeaderLatch (_c_<uuid>-latch-<seq>, the candidate's
// identity as data), so Go and Java services can stand in one election: the
// first candidate leads, every other one watches the candidate just before
// it, so a leader's departure wakes exactly one successor.
//
// Campaign waits until the caller leads and returns a Leadership. Like a
// lock's lease it has a fencing Token, a Done channel and a Context that end
// before any other candidate can be elected (a leader cut off from the
// ensemble keeps leading while its session may still be alive, and stops
// before the server can expire it), and Resign. Proclaim publishes a value,
// such as the leader's address, for everyone who watches the election,
// without giving leadership up.
//
// Run is the loop a scheduler wants: campaign, run a function while leading,
// give leadership up when it returns or is lost, join the election again,
// until told to stop (Curator's LeaderSelector with autoRequeue).
//
// Leader, Observe and Participants watch the election without taking part:
// who leads, what it proclaimed, who waits.
//
// # Node data
//
// Curator's LeaderLatch writes the participant id as the node's bytes and
// hands them back to applications as the id (getLeader, getParticipants).
// A zkcoord candidate writes its identity the same way, so until it
// proclaims, its node cannot be told from a Curator candidate's. A
// proclaimed value follows the identity after a NUL byte
// ("scheduler-7\x00http://10.0.0.7:8080"); proclaiming an empty value
// restores the plain identity. Identities therefore must not contain NUL.
// The election itself never reads the data (order alone decides), so mixed
// Go and Java candidates elect correctly whatever they store; a Java
// application that shows or compares a proclaiming Go leader's id should
// cut it at the NUL. A Curator candidate's node, having no NUL, reads here
// as an identity with no value.
package election
