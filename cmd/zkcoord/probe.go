package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// node is what a path holds, read without a watch: the first look at a
// path tells what kind of recipe lives there, if any.
type node struct {
	path     string
	exists   bool
	data     []byte
	stat     *zk.Stat
	children []string
	markers  map[string]int // contender children by kind marker, every known marker
	// semLocks and semLeases count the contenders in <path>/locks (lock-)
	// and <path>/leases (lease-): what makes a semaphore, with its limit.
	semLocks, semLeases int
}

// readNode reads path's data and children, after a sync so that it is no
// older than anything another client has seen complete. It only reads.
func readNode(ctx context.Context, m *session.Manager, path string) (*node, error) {
	return readNodeSync(ctx, m, path, true)
}

// readNodeSync is readNode, with the sync only if sync is set: a walk
// syncs once, at its root.
func readNodeSync(ctx context.Context, m *session.Manager, path string, sync bool) (*node, error) {
	n := &node{path: path}
	err := retryRead(ctx, func() error {
		ep, err := m.Epoch(ctx)
		if err != nil {
			return err
		}
		if sync {
			if err := ep.Sync(ctx, path); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
		}
		data, stat, err := ep.Get(ctx, path)
		if errors.Is(err, zk.ErrNoNode) {
			n.exists = false
			return nil
		}
		if err != nil {
			return err
		}
		children, _, err := ep.Children(ctx, path)
		if errors.Is(err, zk.ErrNoNode) {
			n.exists = false
			return nil
		}
		if err != nil {
			return err
		}
		n.exists, n.data, n.stat, n.children = true, data, stat, children
		n.semLocks, n.semLeases = 0, 0
		for _, sub := range []struct {
			name   string
			marker string
			count  *int
		}{{"locks", recipes.MarkerLock, &n.semLocks}, {"leases", recipes.MarkerLease, &n.semLeases}} {
			if !slices.Contains(children, sub.name) {
				continue
			}
			cs, _, err := ep.Children(ctx, recipes.Join(path, sub.name))
			if err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
			*sub.count = len(recipes.SortContenders(cs, sub.marker))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n.markers = map[string]int{}
	for _, c := range recipes.SortContenders(n.children) {
		n.markers[c.Marker]++
	}
	return n, nil
}

func (n *node) count(markers ...string) int {
	total := 0
	for _, m := range markers {
		total += n.markers[m]
	}
	return total
}

// storedLimit is the semaphore limit stored on the node, if it holds one.
func (n *node) storedLimit() (int, bool) {
	limit, err := strconv.Atoi(string(n.data))
	return limit, err == nil && limit > 0
}

// looksLikeSemaphore: Curator's InterProcessSemaphoreV2 layout, contenders
// in <path>/locks or <path>/leases, or zkcoord's stored limit. Children
// named locks or leases alone make no semaphore: any directory may have
// them.
func (n *node) looksLikeSemaphore() bool {
	_, stored := n.storedLimit()
	return n.semLocks > 0 || n.semLeases > 0 || stored
}

// ignored lists the children that are not contenders of markers, sorted.
func (n *node) ignored(markers ...string) []string {
	out := []string{}
	for _, c := range n.children {
		if _, ok := recipes.ParseContender(c, markers...); !ok {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// notA explains why path is not what the command inspects (what: "a lock",
// "a semaphore", "an election"), and which command would show it.
func (n *node) notA(what string) error {
	p := n.path
	if !n.exists {
		return failure(kindNotFound, "nothing at %s: the node does not exist (a recipe's directory is created by its first contender, and may be removed once nobody is left)", p)
	}
	switch {
	case what != "an election" && n.count(recipes.MarkerLatch) > 0:
		return failure(kindNotARecipe, "%s is a leader election, not %s: try `zkcoord leader %s`", p, what, p)
	case what != "a semaphore" && n.looksLikeSemaphore():
		return failure(kindNotARecipe, "%s is a semaphore, not %s: try `zkcoord semaphore %s`", p, what, p)
	case n.count(recipes.MarkerLease) > 0: // <semaphore>/leases
		return failure(kindNotARecipe, "%s holds a semaphore's leases, it is not %s: try `zkcoord semaphore %s`", p, what, recipes.Parent(p))
	case what != "a lock" && n.count(recipes.MarkerLock, recipes.MarkerKazooLock, recipes.MarkerKazooRead, recipes.MarkerRead, recipes.MarkerWrite) > 0:
		return failure(kindNotARecipe, "%s is a lock, not %s: try `zkcoord locks %s`", p, what, p)
	case len(n.children) == 0 && len(n.data) == 0:
		return failure(kindNoContender, "no contenders at %s: the node is empty, so nobody holds, waits or campaigns there", p)
	}
	var why []string
	if len(n.children) > 0 {
		why = append(why, fmt.Sprintf("none of its %d children is a contender (%s)", len(n.children), sample(n.children)))
	} else {
		why = append(why, "it has no contender children")
	}
	if len(n.data) > 0 {
		why = append(why, fmt.Sprintf("it holds %d bytes of data (%s)", len(n.data), quoteData(n.data)))
	}
	return failure(kindNotARecipe, "%s is not %s: %s", p, what, strings.Join(why, ", and "))
}

func sample(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	const show = 3
	q := make([]string, 0, show)
	for _, name := range s[:min(show, len(s))] {
		q = append(q, strconv.Quote(name))
	}
	if len(s) > show {
		q = append(q, "...")
	}
	return strings.Join(q, ", ")
}

func quoteData(b []byte) string {
	const show = 32
	if len(b) > show {
		return strconv.Quote(string(b[:show])) + "..."
	}
	return strconv.Quote(string(b))
}

// printable renders an identity for a text table: "-" when empty, quoted
// when it has anything a terminal would not show as is, cut when long.
func printable(s string) string {
	if s == "" {
		return "-"
	}
	const max = 64
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r == '\t' {
			return strconv.Quote(s)
		}
	}
	return s
}
