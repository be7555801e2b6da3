package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
)

func (a *app) semaphoreCmd() *cobra.Command {
	cmd := a.semaphoreStatusCmd("semaphore <path>")
	cmd.Long += `

'zkcoord semaphore run' runs a command while holding permits; 'zkcoord
semaphore status <path>' is this command.`
	status := a.semaphoreStatusCmd("status <path>")
	cmd.AddCommand(status, a.semaphoreRunCmd())
	return cmd
}

func (a *app) semaphoreStatusCmd(use string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: "A semaphore's limit, the leases held and who waits, in order (zkcoord, Curator)",
		Long: `Show the semaphore at <path> (Curator's InterProcessSemaphoreV2 layout:
<path>/leases and <path>/locks): the limit stored on <path>, the leases held,
and who waits, in the order they will be served. The first waiter holds the
semaphore's internal lock and is collecting its permits: its lease node may
already exist beyond the limit.

Curator does not store the limit; for a semaphore only Curator peers use it
is unknown, and every lease is listed as held.

--json prints {"path", "limit": n or null, "holders": [...], "over_limit":
[lease nodes beyond the limit], "waiters": [...]}; each entry is {"order",
"name", "kind", "marker", "sequence", "identity", "since", "czxid",
"session_id"}.`,
		Args: pathArg("/app/semaphores/db"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			return a.inspect(cmd, path, func(ctx context.Context, m *session.Manager) error {
				r, err := inspectSemaphore(ctx, m, path)
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

// semaphoreReport is what `zkcoord semaphore` prints; its JSON field names
// are stable.
type semaphoreReport struct {
	Path string `json:"path"`
	// Limit is the number of permits stored on the semaphore's node, nil
	// when none is stored (Curator does not store it).
	Limit   *int    `json:"limit"`
	Holders []entry `json:"holders"`
	// OverLimit are lease nodes beyond the limit: the first waiter's, about
	// to be granted or waiting for a permit, or holders' from before the
	// limit was lowered.
	OverLimit []entry `json:"over_limit"`
	Waiters   []entry `json:"waiters"`
}

func inspectSemaphore(ctx context.Context, m *session.Manager, path string) (*semaphoreReport, error) {
	n, err := readNode(ctx, m, path)
	if err != nil {
		return nil, err
	}
	limit, stored := n.storedLimit()
	// A semaphore nobody uses keeps its limit and may have lost its
	// (container) children.
	if !n.exists || !n.looksLikeSemaphore() {
		return nil, n.notA("a semaphore")
	}
	r := &semaphoreReport{Path: path, Holders: []entry{}, OverLimit: []entry{}, Waiters: []entry{}}
	switch {
	case stored:
		r.Limit = &limit
	case len(n.data) > 0:
		return nil, failure(kindNotARecipe, "%s is not a semaphore: it holds %s, not a limit", path, quoteData(n.data))
	}
	// Given no limit of its own, semaphore.Status splits the lease nodes by
	// the stored one, or lists them all as holders when none is stored. New
	// writes nothing; only Acquire does.
	s, err := semaphore.New(m, path, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	var st semaphore.Status
	if err := retryRead(ctx, func() (err error) { st, err = s.Status(ctx); return err }); err != nil {
		return nil, err
	}
	for i, p := range st.Holders {
		r.Holders = append(r.Holders, newEntry(i+1, kindLease, p))
	}
	for i, p := range st.OverLimit {
		r.OverLimit = append(r.OverLimit, newEntry(len(st.Holders)+i+1, kindLease, p))
	}
	for i, p := range st.Waiters {
		r.Waiters = append(r.Waiters, newEntry(i+1, kindExclusive, p))
	}
	return r, nil
}

func (r *semaphoreReport) print(w io.Writer, now time.Time) {
	limit := "limit unknown (not stored)"
	if r.Limit != nil {
		limit = fmt.Sprintf("limit %d", *r.Limit)
	}
	fmt.Fprintf(w, "%s: semaphore, %s, %s held, %s waiting\n", r.Path, limit,
		plural(len(r.Holders), "lease", "leases"), plural(len(r.Waiters), "contender", "contenders"))
	leases := append(append([]entry{}, r.Holders...), r.OverLimit...)
	if len(leases) > 0 {
		fmt.Fprintln(w, "leases:")
		cols := []column{orderColumn(leases), {"STATE", func(i int) string {
			if i < len(r.Holders) {
				return "holds"
			}
			return "over limit"
		}}}
		table(w, len(leases), append(cols, entryColumns(leases, now)...)...)
	}
	if len(r.Waiters) > 0 {
		fmt.Fprintln(w, "waiting, in order (the first is collecting its permits):")
		table(w, len(r.Waiters), append([]column{orderColumn(r.Waiters)}, entryColumns(r.Waiters, now)...)...)
	}
}
