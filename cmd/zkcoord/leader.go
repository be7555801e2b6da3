package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

func (a *app) leaderCmd() *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "leader <path>",
		Short: "An election's leader and candidates, in order (zkcoord, Curator LeaderLatch); --watch follows it",
		Long: `Show the leader of the election at <path> (Curator's LeaderLatch layout,
_c_<uuid>-latch-<seq> nodes) and the candidates in the order they would
take over, with what the leader proclaimed, if anything.

With --watch, print the election again at each change (a candidate joins or
leaves, the leader proclaims), until interrupted. Connection losses are
ridden out: the election is listed afresh after every reconnect.

--json prints {"path", "leader": candidate or null, "candidates": [...]};
each candidate is {"order", "name", "kind": "candidate", "marker",
"sequence", "identity", "since", "czxid", "session_id", "value": what it
proclaimed, or null}. With --watch, one such document per line and change,
with "observed_at" added.`,
		Args: pathArg("/app/election/scheduler"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if watch {
				return a.watchLeader(cmd, path)
			}
			return a.inspect(cmd, path, func(ctx context.Context, m *session.Manager) error {
				r, err := inspectElection(ctx, m, path)
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
	cmd.Flags().BoolVar(&watch, "watch", false, "print each change until interrupted (Ctrl-C)")
	return cmd
}

// candidate is one candidate as --json prints it.
type candidate struct {
	entry
	// Value is what the candidate proclaimed while leading, nil if nothing.
	Value *string `json:"value"`
}

// electionReport is what `zkcoord leader` prints; its JSON field names are
// stable.
type electionReport struct {
	ObservedAt *time.Time  `json:"observed_at,omitempty"` // --watch only
	Path       string      `json:"path"`
	Leader     *candidate  `json:"leader"`
	Candidates []candidate `json:"candidates"`
}

func newElectionReport(path string, ps []election.Participant) *electionReport {
	r := &electionReport{Path: path, Candidates: []candidate{}}
	for i, p := range ps {
		c := candidate{entry: newEntry(i+1, kindCandidate, p.Participant)}
		if p.Value != nil {
			v := string(p.Value)
			c.Value = &v
		}
		r.Candidates = append(r.Candidates, c)
	}
	if len(r.Candidates) > 0 {
		r.Leader = &r.Candidates[0]
	}
	return r
}

// inspectElection reads the election with election.Participants, which
// writes nothing (nor does election.New).
func inspectElection(ctx context.Context, m *session.Manager, path string) (*electionReport, error) {
	n, err := readNode(ctx, m, path)
	if err != nil {
		return nil, err
	}
	if n.count(recipes.LatchMarkers()...) == 0 {
		return nil, n.notA("an election")
	}
	el, err := election.New(m, path)
	if err != nil {
		return nil, err
	}
	var ps []election.Participant
	if err := retryRead(ctx, func() (err error) { ps, err = el.Participants(ctx); return err }); err != nil {
		return nil, err
	}
	if len(ps) == 0 { // everyone left since we looked
		return nil, failure(kindNoContender, "no leader at %s: no candidates", path)
	}
	return newElectionReport(path, ps), nil
}

func (r *electionReport) print(w io.Writer, now time.Time) {
	if r.Leader == nil {
		fmt.Fprintf(w, "%s: election, no leader (no candidates)\n", r.Path)
		return
	}
	fmt.Fprintf(w, "%s: election, leader %q, %s waiting\n", r.Path, r.Leader.Identity,
		plural(len(r.Candidates)-1, "candidate", "candidates"))
	es := make([]entry, len(r.Candidates))
	withValue := false
	for i, c := range r.Candidates {
		es[i] = c.entry
		withValue = withValue || c.Value != nil
	}
	cols := []column{orderColumn(es), {"ROLE", func(i int) string {
		if i == 0 {
			return "leader"
		}
		return "candidate"
	}}}
	cols = append(cols, entryColumns(es, now)...)
	if withValue {
		cols = append(cols, column{"VALUE", func(i int) string {
			if v := r.Candidates[i].Value; v != nil {
				return printable(*v)
			}
			return "-"
		}})
	}
	table(w, len(es), cols...)
}

// line is the election in one line, for --watch.
func (r *electionReport) line(at time.Time) string {
	stamp := at.UTC().Format("2006-01-02T15:04:05.000Z")
	if r.Leader == nil {
		return stamp + "  no leader (no candidates)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  leader %q (session %s, czxid %d)", stamp, r.Leader.Identity, r.Leader.SessionID, r.Leader.Czxid)
	if v := r.Leader.Value; v != nil {
		fmt.Fprintf(&b, " proclaims %s", strconv.Quote(*v))
	}
	if rest := r.Candidates[1:]; len(rest) > 0 {
		es := make([]entry, len(rest))
		for i, c := range rest {
			es[i] = c.entry
		}
		fmt.Fprintf(&b, "; waiting: %s", quotedList(es))
	} else {
		b.WriteString("; nobody waiting")
	}
	return b.String()
}

// same reports whether two views of the election show the same thing.
func (r *electionReport) same(o *electionReport) bool {
	return o != nil && slices.EqualFunc(r.Candidates, o.Candidates, func(x, y candidate) bool {
		return x.Name == y.Name && x.Identity == y.Identity &&
			(x.Value == nil) == (y.Value == nil) && (x.Value == nil || *x.Value == *y.Value)
	})
}

// watchLeader prints the election now and at every change until the
// command's context ends (SIGINT). Each round leaves a children watch on
// the directory (on its nearest existing ancestor while it is absent) and a
// data watch on the directory itself, where the leader proclaims its value
// (see election's package documentation), then reads the election: whatever
// changes after the read fires a watch. A reconnect may have lost the
// watches, so the round starts over after every one, and after a new
// session.
func (a *app) watchLeader(cmd *cobra.Command, path string) error {
	ctx := cmd.Context()
	m, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	el, err := election.New(m, path)
	if err != nil {
		return err
	}
	{ // Refuse a path that holds something else, as the one-shot form does.
		rctx, cancel := context.WithTimeout(ctx, a.timeout)
		n, err := readNode(rctx, m, path)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			return readError(path, err, a.timeout)
		case n.exists && n.count(recipes.LatchMarkers()...) == 0 && (len(n.children) > 0 || len(n.data) > 0):
			return n.notA("an election")
		}
	}
	var last *electionReport
	for {
		ep, err := m.Epoch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return readError(path, err, a.timeout)
		}
		resumed := ep.Resumed() // before the reads: a reconnect after them closes it
		r, dirW, leaderW, err := readElectionW(ctx, ep, el, path)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && (errors.Is(err, session.ErrConnectionLoss) || ep.Err() != nil):
			continue // Epoch waits for the connection, or the next session
		case err != nil:
			return readError(path, err, a.timeout)
		}
		if r != nil && !r.same(last) {
			now := time.Now()
			if a.json {
				at := now.UTC()
				r.ObservedAt = &at
				a.printJSONLine(r)
			} else {
				fmt.Fprintln(a.stdout, r.line(now))
			}
			last = r
		}
		select {
		case <-dirW:
		case <-leaderW:
		case <-resumed:
		case <-ep.Done():
		case <-ctx.Done():
			return nil
		}
	}
}

// readElectionW sets the watches, then reads the election. r is nil when
// the election changed while the watches were being set: the caller waits
// for the watch that saw it.
func readElectionW(ctx context.Context, ep *session.Epoch, el *election.Election, path string) (r *electionReport, dirW, leaderW <-chan zk.Event, err error) {
	children, dirW, err := recipes.ChildrenW(ctx, ep, path)
	if err != nil {
		return nil, nil, nil, err
	}
	queue := recipes.SortContenders(children, recipes.LatchMarkers()...)
	if len(queue) > 0 {
		_, _, leaderW, err = ep.GetW(ctx, path) // where the leader proclaims
		if errors.Is(err, zk.ErrNoNode) {
			return nil, dirW, nil, nil // the election just emptied: dirW has fired
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
	ps, err := el.Participants(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return newElectionReport(path, ps), dirW, leaderW, nil
}
