package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/session"
)

func (a *app) locksCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "locks <path>",
		Short: "Who holds a lock and who waits, in order (mutex or read-write lock; zkcoord, Curator, kazoo)",
		Long: `Show who holds the lock at <path> and who waits for it, in the order they will
be served, whoever made the nodes: zkcoord, Curator (InterProcessMutex,
InterProcessReadWriteLock) or kazoo (Lock, ReadLock, WriteLock).

A directory with __READ__/__WRIT__ nodes (Curator's layout) or kazoo's
__rlock__ nodes is shown as a read-write lock: the holders are the readers
ahead of the first writer, or the writer at the head of the queue.

Each contender shows its identity (its node's data), since when it queued
(SINCE: the node's creation, server clock), the zxid that created its node
(CZXID, which orders them: it is not the holder's fencing token) and its
session id.

--json prints {"path", "type": "mutex"|"rwlock", "holders": [...],
"waiters": [...], "ignored": [child names that are not contenders]}; each
contender is {"order", "name", "kind": "exclusive"|"read"|"write",
"marker", "sequence", "identity", "since", "czxid", "session_id"}.`,
		Args: pathArg("/app/locks/payments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			return a.inspect(cmd, path, func(ctx context.Context, m *session.Manager) error {
				r, err := inspectLock(ctx, m, path)
				if err != nil {
					return err
				}
				if a.json {
					a.printJSON(r)
				} else {
					r.print(a.stdout, time.Now())
				}
				return nil
			})
		},
	}
}

// lockReport is what `zkcoord locks` prints; its JSON field names are stable.
type lockReport struct {
	Path    string   `json:"path"`
	Type    string   `json:"type"` // mutex or rwlock
	Holders []entry  `json:"holders"`
	Waiters []entry  `json:"waiters"`
	Ignored []string `json:"ignored"`
	// Warning is set when kazoo and Curator-layout contenders share the
	// lock, which is unsafe if a Curator client takes part (see mutex.Status.Warning).
	Warning string `json:"warning,omitempty"`
}

// inspectLock reads the lock at path through the recipes' own inspection:
// mutex.Status, or rwlock.Status for Curator's read-write layout. Nothing
// is written: the recipes write only when a lock is taken.
func inspectLock(ctx context.Context, m *session.Manager, path string) (*lockReport, error) {
	n, err := readNode(ctx, m, path)
	if err != nil {
		return nil, err
	}
	curatorRW := n.count(recipes.RWLockMarkers()...) > 0
	kazooRW := n.count(recipes.MarkerKazooRead) > 0
	if !curatorRW && n.count(recipes.MutexMarkers()...) == 0 {
		return nil, n.notA("a lock")
	}
	r := &lockReport{Path: path, Type: "mutex", Holders: []entry{}, Waiters: []entry{}}
	switch {
	case curatorRW:
		rw, err := rwlock.New(m, path)
		if err != nil {
			return nil, err
		}
		var st rwlock.Status
		if err := retryRead(ctx, func() (err error) { st, err = rw.Status(ctx); return err }); err != nil {
			return nil, err
		}
		r.Type = "rwlock"
		r.Ignored = n.ignored(recipes.RWLockMarkers()...)
		for _, p := range st.Holders {
			r.Holders = append(r.Holders, newEntry(len(r.Holders)+1, p.Kind.String(), p.Participant))
		}
		for _, p := range st.Waiters {
			r.Waiters = append(r.Waiters, newEntry(len(r.Holders)+len(r.Waiters)+1, p.Kind.String(), p.Participant))
		}
	default:
		mu, err := mutex.New(m, path)
		if err != nil {
			return nil, err
		}
		var st mutex.Status
		if err := retryRead(ctx, func() (err error) { st, err = mu.Status(ctx); return err }); err != nil {
			return nil, err
		}
		r.Ignored = n.ignored(recipes.MutexMarkers()...)
		if w := st.Warning(); w != nil {
			r.Warning = w.Error()
		}
		var queue []recipes.Participant
		if st.Holder != nil {
			queue = append(append(queue, *st.Holder), st.Waiters...)
		}
		if kazooRW {
			r.Type = "rwlock"
			r.Holders, r.Waiters = kazooReadWrite(queue)
			break
		}
		for i, p := range queue {
			e := newEntry(i+1, kindExclusive, p)
			if i == 0 {
				r.Holders = append(r.Holders, e)
			} else {
				r.Waiters = append(r.Waiters, e)
			}
		}
	}
	return r, nil
}

// kazooReadWrite splits a kazoo read-write lock's queue as kazoo does:
// __rlock__ nodes read, every other contender writes; the readers ahead of
// the first writer hold together, or the writer at the head alone.
// (mutex.Status, which counts every kazoo node as exclusive, as a zkcoord
// mutex must, would name only the head.)
func kazooReadWrite(queue []recipes.Participant) (holders, waiters []entry) {
	holders, waiters = []entry{}, []entry{}
	all := make([]entry, len(queue))
	for i, p := range queue {
		kind := kindWrite
		if p.Marker == recipes.MarkerKazooRead {
			kind = kindRead
		}
		all[i] = newEntry(i+1, kind, p)
	}
	held := 0
	switch {
	case len(all) == 0:
	case all[0].Kind == kindWrite:
		held = 1
	default:
		for held < len(all) && all[held].Kind == kindRead {
			held++
		}
	}
	return append(holders, all[:held]...), append(waiters, all[held:]...)
}

func (r *lockReport) print(w io.Writer, now time.Time) {
	what := "mutex"
	if r.Type == "rwlock" {
		what = "read-write lock"
	}
	var state string
	switch {
	case len(r.Holders) == 0:
		state = "free"
	case r.Type == "rwlock" && r.Holders[0].Kind == kindRead:
		state = fmt.Sprintf("read-held by %s", quotedList(r.Holders))
	case r.Type == "rwlock":
		state = fmt.Sprintf("write-held by %s", quotedList(r.Holders))
	default:
		state = fmt.Sprintf("held by %s", quotedList(r.Holders))
	}
	fmt.Fprintf(w, "%s: %s, %s, %s waiting\n", r.Path, what, state, plural(len(r.Waiters), "contender", "contenders"))
	if r.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", r.Warning)
	}
	all := append(append([]entry{}, r.Holders...), r.Waiters...)
	if len(all) > 0 {
		cols := []column{orderColumn(all), {"STATE", func(i int) string {
			if i < len(r.Holders) {
				return "holds"
			}
			return "waits"
		}}}
		if r.Type == "rwlock" {
			cols = append(cols, column{"KIND", func(i int) string { return all[i].Kind }})
		}
		table(w, len(all), append(cols, entryColumns(all, now)...)...)
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(w, "not contenders, ignored: %s\n", sample(r.Ignored))
	}
}
