package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// Node kinds, as ls names them.
const (
	nodeLock      = "lock"
	nodeRWLock    = "rwlock"
	nodeSemaphore = "semaphore"
	nodeElection  = "election"
	nodePlain     = "plain"
)

// maxListed bounds a walk: ls is for looking, not for exporting a tree.
const maxListed = 10000

func (a *app) lsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ls <path>",
		Short: "What is below a path: locks, read-write locks, semaphores, elections, plain nodes, with counts",
		Long: `Walk the tree from <path> and name each node's kind: lock (mutex
contenders: zkcoord, Curator, kazoo), rwlock (read and write contenders),
semaphore (contenders in its locks/ or leases/, or a stored limit; its
locks/ and leases/ are part of it), election (LeaderLatch candidates), or
plain (anything else). A kind is told by contender nodes only, never by a
child's name. Recipes are counted by their contenders, plain nodes by their
children. At most 10000 nodes are listed. ls only reads.

--json prints {"path", "nodes": [{"path", "kind", "contenders",
"children"}], "counts": {"lock", "rwlock", "semaphore", "election",
"plain"}, "truncated"}.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] == "/" { // no recipe, but a tree
				return nil
			}
			return pathArg("/app")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			return a.inspect(cmd, path, func(ctx context.Context, m *session.Manager) error {
				r, err := listTree(ctx, m, path)
				if err != nil {
					return err
				}
				if a.json {
					a.printJSON(r)
				} else {
					r.print(a.stdout)
				}
				return nil
			})
		},
	}
}

// lsReport is what `zkcoord ls` prints; its JSON field names are stable.
type lsReport struct {
	Path      string         `json:"path"`
	Nodes     []lsNode       `json:"nodes"`
	Counts    map[string]int `json:"counts"`
	Truncated bool           `json:"truncated"`
}

type lsNode struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Contenders are a recipe's contender nodes (a semaphore's leases and
	// the waiters in its locks/), 0 for a plain node.
	Contenders int `json:"contenders"`
	Children   int `json:"children"`
}

// kind names what n is, by its contenders alone.
func (n *node) kind() (kind string, contenders int) {
	rw := n.count(recipes.RWLockMarkers()...) + n.count(recipes.MarkerKazooRead)
	switch {
	case rw > 0:
		return nodeRWLock, rw + n.count(recipes.MarkerLock, recipes.MarkerKazooLock)
	case n.count(recipes.MutexMarkers()...) > 0:
		return nodeLock, n.count(recipes.MutexMarkers()...)
	case n.count(recipes.LatchMarkers()...) > 0:
		return nodeElection, n.count(recipes.LatchMarkers()...)
	case n.looksLikeSemaphore():
		return nodeSemaphore, n.semLeases + n.semLocks
	}
	return nodePlain, 0
}

// listTree walks the tree at root, depth first in name order, into every
// child that is not a contender (nor a semaphore's locks/ or leases/).
func listTree(ctx context.Context, m *session.Manager, root string) (*lsReport, error) {
	r := &lsReport{Path: root, Nodes: []lsNode{}, Counts: map[string]int{
		nodeLock: 0, nodeRWLock: 0, nodeSemaphore: 0, nodeElection: 0, nodePlain: 0}}
	var walk func(path string, first bool) error
	walk = func(path string, first bool) error {
		if len(r.Nodes) >= maxListed {
			r.Truncated = true
			return nil
		}
		n, err := readNodeSync(ctx, m, path, first)
		if err != nil {
			return err
		}
		if !n.exists {
			if first {
				return n.notA("a node")
			}
			return nil // deleted since its parent was listed
		}
		kind, contenders := n.kind()
		r.Nodes = append(r.Nodes, lsNode{Path: path, Kind: kind, Contenders: contenders, Children: len(n.children)})
		r.Counts[kind]++
		children := slices.Clone(n.children)
		slices.Sort(children)
		for _, c := range children {
			if _, ok := recipes.ParseContender(c); ok {
				continue
			}
			if kind == nodeSemaphore && (c == "locks" || c == "leases") {
				continue
			}
			if err := walk(recipes.Join(path, c), false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, true); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *lsReport) print(w io.Writer) {
	table(w, len(r.Nodes),
		column{"KIND", func(i int) string { return r.Nodes[i].Kind }},
		column{"COUNT", func(i int) string { return r.Nodes[i].count() }},
		column{"PATH", func(i int) string { return r.Nodes[i].Path }},
	)
	var parts []string
	for _, k := range []string{nodeLock, nodeRWLock, nodeSemaphore, nodeElection, nodePlain} {
		parts = append(parts, strconv.Itoa(r.Counts[k])+" "+k)
	}
	more := ""
	if r.Truncated {
		more = fmt.Sprintf(" (stopped at %d nodes)", maxListed)
	}
	fmt.Fprintf(w, "%s: %s%s\n", plural(len(r.Nodes), "node", "nodes"), strings.Join(parts, ", "), more)
}

func (n lsNode) count() string {
	switch n.Kind {
	case nodePlain:
		return plural(n.Children, "child", "children")
	case nodeSemaphore:
		return plural(n.Contenders, "lease or waiter", "leases and waiters")
	case nodeElection:
		return plural(n.Contenders, "candidate", "candidates")
	}
	return plural(n.Contenders, "contender", "contenders")
}
