package election

import (
	"bytes"
	"fmt"

	"github.com/zkcoord/zkcoord/recipes"
)

// Where a leader's value lives.
//
// A value given to Campaign (CampaignWith, WithValue) is written into the
// candidate's own node when the node is created, after its identity:
// "<identity>\x00<value>". It is there from the first instant the node
// exists, so no observer ever sees the candidate lead without it, and it
// never changes: Curator's LeaderLatch watches its predecessor's node with
// a one-shot data watch and sets it again only on deletion, so a later data
// change there would leave a Curator successor deaf to the leader leaving.
// A candidate that campaigns without a value writes its identity alone,
// exactly what Curator writes.
//
// A value given later, to Proclaim, lives in the election directory's own
// data, tagged with the name of the leader's node: "<node>\x00<value>". It
// is read as the leader's only if the tag names the leader's node, so a
// former leader's stale value is never attributed to its successor; while
// it does, it replaces the value the leader campaigned with.
const sep = 0

// nodeData is a candidate's node data.
func nodeData(identity string, value []byte) []byte {
	if len(value) == 0 {
		return []byte(identity)
	}
	data := make([]byte, 0, len(identity)+1+len(value))
	data = append(data, identity...)
	data = append(data, sep)
	return append(data, value...)
}

// splitNode reads a candidate's node data: its identity, and the value it
// campaigned with (nil if none).
func splitNode(data []byte) (identity string, value []byte) {
	id, v, ok := bytes.Cut(data, []byte{sep})
	if !ok || len(v) == 0 {
		return string(id), nil
	}
	return string(id), bytes.Clone(v)
}

// encode is the directory's data when the leader at node proclaims value.
func encode(node string, value []byte) []byte {
	data := make([]byte, 0, len(node)+1+len(value))
	data = append(data, node...)
	data = append(data, sep)
	return append(data, value...)
}

// valueOf is the value the directory's data holds for the leader at node:
// ok is false when that leader proclaimed nothing, and value is nil when it
// proclaimed an empty one (withdrawing its value).
func valueOf(dirData []byte, node string) (value []byte, ok bool) {
	tag, v, ok := bytes.Cut(dirData, []byte{sep})
	if !ok || string(tag) != node {
		return nil, false
	}
	if len(v) == 0 {
		return nil, true
	}
	return bytes.Clone(v), true
}

// leaderValue is what observers report as the value of the leader at
// node, whose node data is data: what it proclaimed last, else what it
// campaigned with.
func leaderValue(node string, data, dirData []byte) []byte {
	if v, ok := valueOf(dirData, node); ok {
		return v
	}
	_, v := splitNode(data)
	return v
}

// validIdentity refuses identities a node cannot carry, or that could not
// be told apart from a campaign value.
func validIdentity(id string) error {
	if bytes.IndexByte([]byte(id), sep) >= 0 {
		return fmt.Errorf("%w: an election identity cannot hold a NUL byte (it separates the identity from the campaign value)", recipes.ErrInvalidArgument)
	}
	return recipes.ValidateData([]byte(id))
}
