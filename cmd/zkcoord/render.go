package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
)

// Kinds of contender, as the "kind" field and the KIND column say.
const (
	kindExclusive = "exclusive" // a mutex's contender, or a semaphore's internal lock's
	kindRead      = "read"
	kindWrite     = "write"
	kindLease     = "lease"
	kindCandidate = "candidate"
)

// entry is one contender as --json prints it. The field names are stable.
type entry struct {
	// Order is the 1-based position in the queue the entry is listed from.
	Order    int    `json:"order"`
	Name     string `json:"name"` // the node's name
	Kind     string `json:"kind"` // exclusive, read, write, lease or candidate
	Marker   string `json:"marker"`
	Sequence int64  `json:"sequence"`
	// Identity is the node's data: who made it.
	Identity string `json:"identity"`
	// Since is when the node was created (server clock, UTC): when the
	// contender joined the queue. A holder that had to wait has held since
	// its predecessor left, which ZooKeeper does not record.
	Since time.Time `json:"since"`
	// Czxid is the zxid that created the node. It orders the contenders; it
	// is not the holder's fencing token, which only the holder learns.
	Czxid int64 `json:"czxid"`
	// SessionID is the owner session, "0x" and hex digits.
	SessionID string `json:"session_id"`
}

func newEntry(order int, kind string, p recipes.Participant) entry {
	return entry{
		Order: order, Name: p.Name, Kind: kind, Marker: p.Marker, Sequence: p.Seq,
		Identity: p.Identity, Since: p.Since.UTC(), Czxid: p.Zxid, SessionID: sessionHex(p.Session),
	}
}

func sessionHex(id int64) string { return "0x" + strconv.FormatUint(uint64(id), 16) }

// column is one column of a text table.
type column struct {
	title string
	cell  func(row int) string
}

// table prints rows under titles, aligned, indented by two spaces.
func table(w io.Writer, rows int, cols ...column) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	fmt.Fprintln(tw, "  "+strings.Join(titles, "\t"))
	for r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.cell(r)
		}
		fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
	}
	tw.Flush()
}

// entryColumns are the columns every contender table ends with.
func entryColumns(es []entry, now time.Time) []column {
	return []column{
		{"IDENTITY", func(r int) string { return printable(es[r].Identity) }},
		{"SINCE", func(r int) string { return since(es[r].Since, now) }},
		{"CZXID", func(r int) string { return strconv.FormatInt(es[r].Czxid, 10) }},
		{"SESSION", func(r int) string { return es[r].SessionID }},
		{"NODE", func(r int) string { return es[r].Name }},
	}
}

func orderColumn(es []entry) column {
	return column{"ORDER", func(r int) string { return strconv.Itoa(es[r].Order) }}
}

// since is "2025-11-25T10:04:05.123Z (3m2s ago)".
func since(t, now time.Time) string {
	age := now.Sub(t)
	if age < 0 {
		age = 0 // the server's clock is ahead of ours
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z") + " (" + ago(age) + ")"
}

func ago(d time.Duration) string {
	if d < time.Second {
		return "just now"
	}
	return d.Round(time.Second).String() + " ago"
}

// quotedList is `"a", "b", "c"`, at most five of them.
func quotedList(es []entry) string {
	const show = 5
	q := make([]string, 0, show+1)
	for _, e := range es[:min(show, len(es))] {
		q = append(q, strconv.Quote(e.Identity))
	}
	if len(es) > show {
		q = append(q, fmt.Sprintf("and %d more", len(es)-show))
	}
	return strings.Join(q, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
