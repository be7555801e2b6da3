package chaos

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
)

// Report is what a run showed.
type Report struct {
	Seed           uint64
	Clients        int
	SessionTimeout time.Duration
	Margin         time.Duration
	Election       bool
	Nemesis, Wall  time.Duration
	Dir            string

	Faults []Fault
	Counts Counts
	Regs   map[string]*regStats
	// Progress is the worst time to the first acquisition after a heal,
	// per fault kind.
	Progress map[string]time.Duration
	Checks   []Check
	// Caught is what the checker found wrong with the unfenced register:
	// the proof that it would have caught the same in the fenced one.
	Caught []string
	// Notes point at further evidence.
	Notes []string

	violations []violation
}

// Counts say what the run exercised.
type Counts struct {
	Faults          map[string]int
	PausesLanded    int
	PausesTakenOver int
	EndsByFault     map[string]int // sessions ended while a fault of that kind was in place, or within a session timeout of its heal
	Acquisitions    map[string]int // by key
	Losses          map[string]int // by cause
	EpochEnds       map[string]int // sessions ended, by cause
	EmptyHolds      int            // reported only after their deadline had passed
	EpochGuesses    int
	LockErrors      int
	// Holders not paused: losses, the latest a loss was noticed after the
	// deadline, and ops issued while Err was nil after the deadline.
	UnpausedLosses int
	LatestNotice   time.Duration
	ActedLate      int
	ActedLateWorst time.Duration
}

// Check is one row of the table.
type Check struct {
	Name     string
	Fenced   string // what the fenced register (or the run) showed
	Unfenced string // what the unfenced control showed, if the row has one
	OK       bool
	// Control: the row has an unfenced column that must show the failure
	// fencing prevents; ControlOK says it did.
	Control, ControlOK bool
}

type violation struct{ kind, msg string }

func (r *Report) violate(kind, msg string) { r.violations = append(r.violations, violation{kind, msg}) }

func (r *Report) addCheck(c Check) { r.Checks = append(r.Checks, c) }

// Violations lists everything the run proved wrong, including a control
// that failed to show the checker at work. Empty means the run passed.
func (r *Report) Violations() []string {
	var out []string
	for _, v := range r.violations {
		out = append(out, v.kind+": "+v.msg)
	}
	for _, c := range r.Checks {
		if c.Control && !c.ControlOK {
			out = append(out, fmt.Sprintf("control: %q: the unfenced register showed %s; the checker must see fencing's failure there", c.Name, c.Unfenced))
		}
	}
	return out
}

// Table renders the report: the run, its counts, and one row per check.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos run: seed %d, %d client processes, %s, session timeout %v (safety margin %v)\n",
		r.Seed, r.Clients, map[bool]string{true: "mutex + election", false: "mutex only"}[r.Election], r.SessionTimeout, r.Margin)
	fmt.Fprintf(&b, "nemesis %v, wall %v, logs %s\n\n", r.Nemesis.Round(100*time.Millisecond), r.Wall.Round(100*time.Millisecond), r.Dir)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tVALUE")
	var fk []string
	for _, k := range FaultKinds {
		n := r.Counts.Faults[k]
		s := fmt.Sprintf("%s %d", k, n)
		if k == Pause {
			s += fmt.Sprintf(" (%d caught a holder, %d taken over before resuming)", r.Counts.PausesLanded, r.Counts.PausesTakenOver)
		}
		fk = append(fk, s)
	}
	fmt.Fprintf(tw, "faults\t%s\n", strings.Join(fk, ", "))
	var acq []string
	for _, k := range slices.Sorted(maps.Keys(r.Counts.Acquisitions)) {
		acq = append(acq, fmt.Sprintf("%s %d", k, r.Counts.Acquisitions[k]))
	}
	fmt.Fprintf(tw, "acquisitions\t%s\n", strings.Join(acq, ", "))
	fmt.Fprintf(tw, "leases lost, by cause\t%s\n", formatCounts(r.Counts.Losses))
	fmt.Fprintf(tw, "sessions ended, by cause\t%s\n", formatCounts(r.Counts.EpochEnds))
	fmt.Fprintf(tw, "sessions ended, by fault\t%s\n", formatCounts(r.Counts.EndsByFault))
	fmt.Fprintf(tw, "holds past their deadline when reported\t%d\n", r.Counts.EmptyHolds)
	fmt.Fprintf(tw, "losses of unpaused holders\t%d, noticed at worst %v after the deadline\n",
		r.Counts.UnpausedLosses, r.Counts.LatestNotice.Round(time.Millisecond))
	fmt.Fprintf(tw, "ops issued by unpaused holders after their deadline\t%d (worst %v late)\n",
		r.Counts.ActedLate, r.Counts.ActedLateWorst.Round(time.Millisecond))
	fmt.Fprintf(tw, "lease epochs guessed, not proved\t%d\n", r.Counts.EpochGuesses)
	fmt.Fprintf(tw, "Lock/Campaign errors\t%d\n", r.Counts.LockErrors)
	for _, reg := range []string{proto.RegFenced, proto.RegUnfenced} {
		s := r.Regs[reg]
		if s == nil {
			continue
		}
		fmt.Fprintf(tw, "%s register\twrites %d (accepted %d, rejected %d), reads %d, outcome unknown %d (applied %d), not sent %d\n",
			reg, s.Writes, s.Accepted, s.Rejected, s.Reads, s.Unknown, s.UnknownApplied, s.NotSent)
	}
	if s := r.Regs[proto.RegFenced]; s != nil {
		fmt.Fprintf(tw, "stale writes rejected (fenced)\t%d, of which %d from paused holders\n", s.Rejected, s.PausedAfterRefused)
		fmt.Fprintf(tw, "writes received after their hold ended (fenced)\t%d: %d issued while the lease's Err was still nil; %d zombie writes (after a loss) in all\n",
			s.AfterDeadline, s.HeldAfterDeadline, s.Zombie)
	}
	var prog []string
	for _, k := range FaultKinds {
		if d, ok := r.Progress[k]; ok {
			if d == time.Duration(math.MaxInt64) {
				prog = append(prog, k+" never")
			} else {
				prog = append(prog, fmt.Sprintf("%s %v", k, d.Round(time.Millisecond)))
			}
		}
	}
	fmt.Fprintf(tw, "worst time to acquire after heal\t%s\n", strings.Join(prog, ", "))
	tw.Flush()
	b.WriteString("\n")

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tFENCED\tUNFENCED (control)\tRESULT")
	for _, c := range r.Checks {
		res := "pass"
		if !c.OK {
			res = "FAIL"
		}
		unf := c.Unfenced
		if c.Control {
			if c.ControlOK {
				unf += " (caught)"
			} else {
				unf += " (NOT caught)"
				res = "FAIL"
			}
		}
		if unf == "" {
			unf = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Fenced, unf, res)
	}
	tw.Flush()

	if len(r.Faults) > 0 {
		b.WriteString("\nfaults:\n")
		for _, f := range r.Faults {
			fmt.Fprintf(&b, "  %2d %-13s %-12s %s\n", f.N, f.Kind, f.Target, strings.TrimSpace(f.Detail))
		}
	}
	if len(r.Caught) > 0 {
		fmt.Fprintf(&b, "\ncaught in the unfenced control (%d; first ones):\n", len(r.Caught))
		for _, m := range r.Caught[:min(len(r.Caught), 5)] {
			b.WriteString("  " + m + "\n")
		}
	}
	for _, n := range r.Notes {
		b.WriteString("\nnote: " + n + "\n")
	}
	if v := r.Violations(); len(v) > 0 {
		fmt.Fprintf(&b, "\nVIOLATIONS (%d):\n", len(v))
		for _, m := range v {
			b.WriteString("  " + m + "\n")
		}
	} else {
		b.WriteString("\nno violations\n")
	}
	return b.String()
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
