package election

import (
	"bytes"

	"github.com/zkcoord/zkcoord/recipes"
)

// A proclaimed value lives in the election directory's own data, tagged
// with the name of the leader's node: "<node>\x00<value>". Not in the
// leader's node: Curator's LeaderLatch watches its predecessor's node with
// a one-shot data watch and sets it again only on deletion, so a data
// change there would leave a Curator successor deaf to the leader leaving.
// Candidates' nodes keep exactly what Curator writes, the identity alone.
// A value is read as the leader's only if the tag names the leader's node,
// so a former leader's stale value is never attributed to its successor.
const sep = 0

// encode is the directory's data when the leader at node proclaims value.
func encode(node string, value []byte) []byte {
	data := make([]byte, 0, len(node)+1+len(value))
	data = append(data, node...)
	data = append(data, sep)
	return append(data, value...)
}

// valueOf is the value the directory's data holds for the leader at node,
// nil when that leader proclaimed nothing (or an empty value).
func valueOf(dirData []byte, node string) []byte {
	tag, v, ok := bytes.Cut(dirData, []byte{sep})
	if !ok || string(tag) != node || len(v) == 0 {
		return nil
	}
	return bytes.Clone(v)
}

// validIdentity refuses identities a node cannot carry.
func validIdentity(id string) error {
	return recipes.ValidateData([]byte(id))
}
