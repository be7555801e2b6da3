package recipes

import (
	"fmt"

	"github.com/go-zookeeper/zk"
)

// ValidateACL refuses, with ErrInvalidArgument, an ACL under which the
// client that creates a contender node could not delete it again.
//
// ZooKeeper checks a delete against the parent's ACL, so the recipe's ACL,
// which its directory gets, must grant create and delete together. Without
// delete, a waiter that gives up leaves its node behind; that node heads
// the queue one day with nobody to release it, and everyone behind it waits
// until its session ends. The check cannot know who an entry names: the
// creator must be among those an entry granting both permissions admits.
func ValidateACL(acl []zk.ACL) error {
	if len(acl) == 0 {
		return fmt.Errorf("%w: empty ACL (nil means open to all)", ErrInvalidArgument)
	}
	const need = zk.PermCreate | zk.PermDelete
	for _, a := range acl {
		if a.Perms&need == need {
			return nil
		}
	}
	return fmt.Errorf("%w: ACL %v grants no one both create and delete: a contender could not delete its own node, which would block the queue once it reached the head", ErrInvalidArgument, acl)
}
