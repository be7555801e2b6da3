package zktest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// checkCleanTimeout is how long CheckClean waits for leftovers to go away:
// ephemeral nodes of a just-closed session, containers reaped by the leader,
// watches dropped on session close. It is a few maximum session timeouts.
var checkCleanTimeout = 10 * time.Second

// containerOwner is the ephemeralOwner ZooKeeper gives container nodes.
const containerOwner = math.MinInt64

// CheckClean fails t unless, within a few seconds, nothing is left under
// prefix and none of sessions watches prefix or anything under it. prefix
// itself may exist, and so may container nodes (the server deletes them once
// they are empty); every other node under it is a leftover. A recipe test
// calls it at the end with the sessions it used, to prove the recipe cleans
// up after itself.
func (c *Cluster) CheckClean(t testing.TB, prefix string, sessions ...int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), checkCleanTimeout)
	defer cancel()
	var last []string
	err := c.withConn(ctx, func(conn *zk.Conn) error {
		return poll(ctx, func() error {
			dirt, err := c.dirt(conn, prefix, sessions)
			if errors.Is(err, zk.ErrClosing) {
				return permanent(context.Cause(ctx))
			}
			if err != nil {
				return err
			}
			if last = dirt; len(dirt) > 0 {
				return errors.New("not clean")
			}
			return nil
		})
	})
	switch {
	case err == nil:
	case len(last) > 0:
		t.Errorf("zktest: %s is not clean after %v:\n\t%s", prefix, checkCleanTimeout, strings.Join(last, "\n\t"))
	default:
		t.Errorf("zktest: checking that %s is clean: %v", prefix, err)
	}
}

// dirt lists what is left under prefix: nodes, then watches of sessions.
func (c *Cluster) dirt(conn *zk.Conn, prefix string, sessions []int64) ([]string, error) {
	var dirt []string
	var walk func(p string) error
	walk = func(p string) error {
		children, _, err := conn.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil // deleted while we looked
		}
		if err != nil {
			return err
		}
		slices.Sort(children)
		for _, name := range children {
			child := path.Join(p, name)
			if child == "/zookeeper" {
				continue // the server's own
			}
			ok, st, err := conn.Exists(child)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if st.EphemeralOwner != containerOwner {
				dirt = append(dirt, describeNode(child, st))
			}
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(prefix); err != nil {
		return nil, err
	}
	if len(sessions) == 0 {
		return dirt, nil
	}
	watches, err := c.Watches()
	if err != nil {
		return nil, err
	}
	for _, id := range sessions {
		for _, w := range watches[id] {
			if under(w, prefix) {
				dirt = append(dirt, fmt.Sprintf("watch on %s by session 0x%x", w, id))
			}
		}
	}
	return dirt, nil
}

func describeNode(p string, st *zk.Stat) string {
	switch owner := uint64(st.EphemeralOwner); {
	case owner == 0:
		return p
	case owner>>56 == 0xff: // TTL nodes keep their TTL in ephemeralOwner
		return p + " (TTL node)"
	default:
		return fmt.Sprintf("%s (ephemeral of session 0x%x)", p, owner)
	}
}

// under reports whether p is prefix or below it.
func under(p, prefix string) bool {
	if prefix == "/" {
		return true
	}
	return p == prefix || strings.HasPrefix(p, strings.TrimSuffix(prefix, "/")+"/")
}
