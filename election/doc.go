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
// before the server can expire it), and Resign. A candidate may campaign
// with a value, such as its address (CampaignWith, WithValue): observers
// see it from the first instant the candidate leads. Proclaim publishes a
// new value later, without giving leadership up.
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
// A zkcoord candidate writes its identity the same way, followed, if it
// campaigns with a value, by a NUL and the value; it is written once, when
// the node is created, and never changed. Identities therefore cannot hold
// a NUL, and a Curator peer sees such a candidate's id as identity, NUL,
// value. A value proclaimed later goes into the election directory's own
// data instead, tagged with the leader's node name ("<node>\x00<value>");
// observers credit it to the leader only while that node leads. Writing it
// into the leader's node would break Curator successors: LeaderLatch
// watches its predecessor with a one-shot data watch and renews it only
// when the node is deleted, so a data change would leave it deaf to the
// leader leaving.
package election
