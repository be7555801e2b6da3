package election

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/zkcoord/zkcoord/recipes"
)

// sep ends the identity in a node that carries a proclaimed value. A NUL
// cannot occur in an identity (New refuses one) and almost never does in
// the ids Curator peers choose, so a node without one is read exactly as
// Curator's LeaderLatch reads it: all identity.
const sep = 0

// encode is the data of a candidate's node. An empty value leaves the
// identity alone, as a Curator peer would write it.
func encode(identity string, value []byte) []byte {
	if len(value) == 0 {
		return []byte(identity)
	}
	data := make([]byte, 0, len(identity)+1+len(value))
	data = append(data, identity...)
	data = append(data, sep)
	return append(data, value...)
}

// decode splits a node's data into identity and value; value is nil when
// none was proclaimed.
func decode(data []byte) (identity string, value []byte) {
	id, v, ok := bytes.Cut(data, []byte{sep})
	if !ok || len(v) == 0 {
		return string(id), nil
	}
	return string(id), bytes.Clone(v)
}

// validIdentity refuses identities that would not read back as written.
func validIdentity(id string) error {
	if i := strings.IndexByte(id, sep); i >= 0 {
		return fmt.Errorf("%w: identity has a NUL byte at %d; it separates the identity from a proclaimed value", recipes.ErrInvalidArgument, i)
	}
	return recipes.ValidateData([]byte(id))
}
