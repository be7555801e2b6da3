package chaos

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
)

// hold is one acquisition as its client reported it, on the shared clock.
//
// It ends at the first of: the instant the holder stopped acting (it
// called Unlock, or noticed the loss) and its safe deadline as the
// session epoch finally knew it. A paused holder notices late, but its
// hold still ends at its deadline: from then on, the server may have
// given the lock to someone else, and only the fenced register stands in
// the way of what the holder does next.
type hold struct {
	Client  int
	Key     string
	Token   int64
	Acq     int64 // Lock/Campaign returned
	DlAcq   int64 // the safe deadline then
	EndKind string
	EndObs  int64 // releasing, or loss noticed
	DlEnd   int64 // the safe deadline then
	Cause   string
	Guess   bool // the lease's epoch was guessed, not proved
	Paused  bool // a SIGSTOP landed inside it
	lastDl  int64
	lastT   int64
}

// End is when the hold ended, for every check.
func (h *hold) End() int64 {
	switch {
	case h.EndKind == "open":
		return h.lastDl // the client never said: it may have held to its deadline
	case h.DlEnd == 0:
		return h.EndObs
	}
	return min(h.EndObs, h.DlEnd)
}

// Empty reports a hold that was over before it was reported: the holder
// was stopped between its grant and its first look at the clock.
func (h *hold) Empty() bool { return h.End() <= h.Acq }

const (
	endReleased = "released"
	endLost     = "lost"
	endOpen     = "open"
)

type checkInput struct {
	cfg       Config
	events    []proto.Event
	records   map[string][]proto.Record
	faults    []Fault
	orphans   []string
	orphanErr error
	stopErrs  []error
	harness   []string
	nemesis   time.Duration
	stoppedAt int64
}

// opRef is a client's op with the hold it was made under.
type opRef struct {
	op   *proto.Op
	hold *hold
}

type analysis struct {
	in    checkInput
	base  int64 // times in messages are relative to this
	holds []*hold
	ops   map[string]opRef // by op id
	rep   *Report
}

func (a *analysis) rel(t int64) string {
	return fmt.Sprintf("%.3fs", float64(t-a.base)/1e9)
}

func (a *analysis) describe(h *hold) string {
	var notes string
	if h.Paused {
		notes += ", paused"
	}
	if h.Guess {
		notes += ", epoch guessed"
	}
	return fmt.Sprintf("client %d token %d [%s, %s] (%s%s)", h.Client, h.Token,
		a.rel(h.Acq), a.rel(h.End()), h.EndKind, notes)
}

// check judges a run. Every check that fails adds violations; the counts
// say what was exercised.
func check(in checkInput) *Report {
	a := &analysis{in: in, ops: map[string]opRef{}}
	a.rep = &Report{
		Seed: in.cfg.Seed, Clients: in.cfg.Clients, SessionTimeout: in.cfg.SessionTimeout,
		Margin: in.cfg.SafetyMargin, Election: !in.cfg.NoElection, Nemesis: in.nemesis,
		Faults: in.faults, Dir: in.cfg.Dir,
	}
	if len(in.events) > 0 {
		a.base = in.events[0].T
		for _, ev := range in.events {
			a.base = min(a.base, ev.T)
		}
	}
	a.buildHolds()
	a.markPaused()
	a.countEvents()
	for _, key := range in.cfg.keys() {
		a.checkExclusion(key)
	}
	a.checkRegisters()
	a.checkLinearizable()
	a.checkProgress()
	a.checkPauses()
	a.checkShutdown()
	return a.rep
}

func (a *analysis) buildHolds() {
	type ck struct {
		c   int
		key string
	}
	cur := map[ck]*hold{}
	for _, ev := range a.in.events {
		k := ck{ev.Client, ev.Key}
		h := cur[k]
		if h != nil {
			h.lastT = ev.T
			if ev.Deadline != 0 {
				h.lastDl = max(h.lastDl, ev.Deadline)
			}
		}
		switch ev.Ev {
		case proto.EvAcquired:
			if h != nil && h.EndKind == endOpen {
				a.rep.violate("harness", fmt.Sprintf("client %d reported a new %s acquisition while holding token %d", ev.Client, ev.Key, h.Token))
			}
			h = &hold{
				Client: ev.Client, Key: ev.Key, Token: ev.Token, Acq: ev.T, DlAcq: ev.Deadline,
				EndKind: endOpen, Guess: ev.EpochGuess, lastDl: ev.Deadline, lastT: ev.T,
			}
			cur[k] = h
			a.holds = append(a.holds, h)
		case proto.EvOp:
			if h == nil || h.Token != ev.Token {
				a.rep.violate("harness", fmt.Sprintf("client %d op %s outside any hold", ev.Client, ev.Op.ID))
				continue
			}
			a.ops[ev.Op.ID] = opRef{op: ev.Op, hold: h}
		case proto.EvReleasing, proto.EvLost:
			if h == nil || h.EndKind != endOpen {
				a.rep.violate("harness", fmt.Sprintf("client %d: %s of %s without a hold", ev.Client, ev.Ev, ev.Key))
				continue
			}
			h.EndKind, h.EndObs, h.DlEnd, h.Cause = endReleased, ev.T, ev.Deadline, ev.Cause
			if ev.Ev == proto.EvLost {
				h.EndKind = endLost
			}
		case proto.EvReleased:
			delete(cur, k)
		}
	}
}

// markPaused flags the holds a SIGSTOP landed in.
func (a *analysis) markPaused() {
	for _, f := range a.in.faults {
		if f.Kind != Pause || f.Start == 0 {
			continue
		}
		for _, h := range a.holds {
			if h.Client == f.Client && h.Acq <= f.Start && (h.EndKind == endOpen || h.EndObs >= f.Start) {
				h.Paused = true
			}
		}
	}
}

func (a *analysis) countEvents() {
	c := &a.rep.Counts
	c.Acquisitions = map[string]int{}
	c.Losses = map[string]int{}
	c.EpochEnds = map[string]int{}
	c.Faults = map[string]int{}
	for _, h := range a.holds {
		c.Acquisitions[h.Key]++
		if h.EndKind == endLost {
			c.Losses[h.Cause]++
		}
		if h.Guess {
			c.EpochGuesses++
		}
		if h.Empty() {
			c.EmptyHolds++
		}
	}
	// The loss signal, for holders that were not paused: how long after
	// the deadline they noticed, and what they issued believing they
	// still held once it had passed.
	for _, h := range a.holds {
		if h.EndKind == endLost && !h.Paused && h.DlEnd != 0 {
			c.UnpausedLosses++
			c.LatestNotice = max(c.LatestNotice, time.Duration(h.EndObs-h.DlEnd))
		}
	}
	for _, ref := range a.ops {
		if h := ref.hold; ref.op.Held && !h.Paused && ref.op.Call > h.End() {
			c.ActedLate++
			c.ActedLateWorst = max(c.ActedLateWorst, time.Duration(ref.op.Call-h.End()))
		}
	}
	c.EndsByFault = map[string]int{}
	for _, ev := range a.in.events {
		if ev.Ev == proto.EvSession && ev.State == "expired" {
			c.EpochEnds[ev.Cause]++
			kind := "no fault"
			for _, f := range a.in.faults {
				if f.Start <= ev.T && ev.T <= f.Heal+int64(a.in.cfg.SessionTimeout) {
					kind = f.Kind
				}
			}
			c.EndsByFault[kind]++
		}
		if ev.Ev == proto.EvError {
			c.LockErrors++
		}
	}
	for _, f := range a.in.faults {
		c.Faults[f.Kind]++
		if f.Kind == Pause && f.Landed {
			c.PausesLanded++
		}
		if f.Kind == Pause && f.Takeover {
			c.PausesTakenOver++
		}
	}
}

// checkExclusion: no two holds of key overlap, and tokens grow with
// acquisition order.
func (a *analysis) checkExclusion(key string) {
	var hs []*hold
	for _, h := range a.holds {
		if h.Key == key && !h.Empty() {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(x, y *hold) int { return cmp.Compare(x.Acq, y.Acq) })
	overlaps, disorder := 0, 0
	// closest: the shortest time from a hold that ended at its deadline
	// (its holder was cut off, or paused) to the next acquisition: how
	// much of the safety margin the takeover left unused.
	closest, deadlineEnds := time.Duration(math.MaxInt64), 0
	var latest *hold // the hold ending last so far
	for i, h := range hs {
		if i > 0 {
			if p := hs[i-1]; p.EndKind != endOpen && p.DlEnd != 0 && p.DlEnd <= p.EndObs {
				deadlineEnds++
				closest = min(closest, time.Duration(h.Acq-p.End()))
			}
		}
		if latest != nil && h.Acq < latest.End() {
			overlaps++
			a.rep.violate("exclusion", fmt.Sprintf("%s: %s and %s held at once for %v",
				key, a.describe(latest), a.describe(h), time.Duration(latest.End()-h.Acq)))
		}
		if i > 0 && h.Token <= hs[i-1].Token {
			disorder++
			a.rep.violate("tokens", fmt.Sprintf("%s: token %d (client %d, at %s) not above the previous holder's %d (client %d, at %s)",
				key, h.Token, h.Client, a.rel(h.Acq), hs[i-1].Token, hs[i-1].Client, a.rel(hs[i-1].Acq)))
		}
		if latest == nil || h.End() > latest.End() {
			latest = h
		}
	}
	shown := fmt.Sprintf("%d holds, %d overlaps", len(hs), overlaps)
	if deadlineEnds > 0 {
		shown += fmt.Sprintf("; next holder came %v after a deadline at the closest (%d ended so)", closest.Round(time.Millisecond), deadlineEnds)
	}
	a.rep.addCheck(Check{
		Name:   "no two holders at once: " + key,
		Fenced: shown,
		OK:     overlaps == 0,
	})
	a.rep.addCheck(Check{
		Name:   "tokens increase with acquisitions: " + key,
		Fenced: fmt.Sprintf("%d out of order", disorder),
		OK:     disorder == 0,
	})
}

// regStats is what one register's records show.
type regStats struct {
	Writes, Accepted, Rejected, Reads   int
	StaleAccepted                       int // write accepted with a token below the highest accepted
	OverwrittenReads                    int // read of a value older than the highest accepted token
	AfterDeadline                       int // writes received after their hold ended
	AfterTakeover, AfterTakeoverRefused int // of those, sent when a newer token had been accepted
	PausedAfter, PausedAfterRefused     int // writes of paused holds received after their deadline
	Disagree                            int // the client saw another outcome than the register logged
	Unknown, UnknownApplied, NotSent    int
	HeldAfterDeadline                   int // of AfterDeadline: the client believed it still held
	Zombie                              int
}

func (a *analysis) checkRegisters() {
	a.rep.Regs = map[string]*regStats{}
	for _, reg := range []string{proto.RegFenced, proto.RegUnfenced} {
		s := &regStats{}
		a.rep.Regs[reg] = s
		byID := map[string]proto.Record{}
		for _, r := range a.in.records[reg] {
			byID[r.ID] = r
			ref, known := a.ops[r.ID]
			if !known {
				a.rep.violate("agree", fmt.Sprintf("%s register logged %s, which no client reported", reg, r.ID))
				continue
			}
			if r.Kind == "r" {
				s.Reads++
				if r.ReadTok < r.High {
					s.OverwrittenReads++
					a.flag(reg, fmt.Sprintf("%s register: read %s by client %d at %s returned token %d's value %q, overwriting an accepted token %d",
						reg, r.ID, r.Client, a.rel(r.RecvT), r.ReadTok, r.ReadVal, r.High))
				}
				continue
			}
			s.Writes++
			if r.Accepted {
				s.Accepted++
			} else {
				s.Rejected++
			}
			if r.Accepted && r.Token < r.High {
				s.StaleAccepted++
				a.flag(reg, fmt.Sprintf("%s register accepted %s from client %d with token %d at %s, after token %d",
					reg, r.ID, r.Client, r.Token, a.rel(r.RecvT), r.High))
			}
			if reg == proto.RegFenced && !r.Accepted && r.Token >= r.High {
				a.rep.violate("register", fmt.Sprintf("fenced register refused %s with token %d, not below %d", r.ID, r.Token, r.High))
			}
			if ref.op.Zombie {
				s.Zombie++
			}
			h := ref.hold
			if r.RecvT <= h.End() {
				continue
			}
			s.AfterDeadline++
			if ref.op.Held {
				s.HeldAfterDeadline++
			}
			if r.High > r.Token {
				s.AfterTakeover++
				if !r.Accepted {
					s.AfterTakeoverRefused++
				}
			}
			if h.Paused {
				s.PausedAfter++
				if !r.Accepted {
					s.PausedAfterRefused++
				} else {
					a.flag(reg, fmt.Sprintf("%s register accepted %s from paused %s, received at %s, %v after its deadline",
						reg, r.ID, a.describe(h), a.rel(r.RecvT), time.Duration(r.RecvT-h.End())))
				}
			}
		}
		// What the clients saw against what the register logged.
		for id, ref := range a.ops {
			op := ref.op
			if op.Reg != reg {
				continue
			}
			r, logged := byID[id]
			switch op.Outcome {
			case proto.OutNotSent:
				s.NotSent++
				if logged {
					s.Disagree++
					a.rep.violate("agree", fmt.Sprintf("%s: op %s was never sent, yet logged", reg, id))
				}
			case proto.OutUnknown:
				s.Unknown++
				if logged && (op.Kind == "r" || r.Accepted) {
					s.UnknownApplied++
				}
			case proto.OutOK, proto.OutRejected:
				want := op.Outcome == proto.OutOK
				switch {
				case !logged:
					s.Disagree++
					a.rep.violate("agree", fmt.Sprintf("%s: op %s answered %s but not logged", reg, id, op.Outcome))
				case op.Kind == "w" && r.Accepted != want:
					s.Disagree++
					a.rep.violate("agree", fmt.Sprintf("%s: op %s answered %s, logged accepted=%v", reg, id, op.Outcome, r.Accepted))
				case op.Kind == "r" && (r.ReadTok != op.ReadTok || r.ReadVal != op.ReadVal):
					s.Disagree++
					a.rep.violate("agree", fmt.Sprintf("%s: read %s answered (%d,%q), logged (%d,%q)", reg, id, op.ReadTok, op.ReadVal, r.ReadTok, r.ReadVal))
				}
			}
		}
	}
	f, u := a.rep.Regs[proto.RegFenced], a.rep.Regs[proto.RegUnfenced]
	controlled := a.controlExercised()
	a.rep.addCheck(Check{
		Name:     "no write with a stale token accepted",
		Fenced:   fmt.Sprintf("%d of %d", f.StaleAccepted, f.Writes),
		Unfenced: fmt.Sprintf("%d of %d", u.StaleAccepted, u.Writes),
		OK:       f.StaleAccepted == 0, Control: true,
		ControlOK: controlled && u.StaleAccepted > 0,
	})
	a.rep.addCheck(Check{
		Name:     "no accepted write lost (read of an overwritten value)",
		Fenced:   fmt.Sprintf("%d of %d reads", f.OverwrittenReads, f.Reads),
		Unfenced: fmt.Sprintf("%d of %d reads", u.OverwrittenReads, u.Reads),
		OK:       f.OverwrittenReads == 0,
	})
	a.rep.addCheck(Check{
		Name:     "writes after their hold, once a newer token was accepted: refused",
		Fenced:   fmt.Sprintf("%d of %d refused", f.AfterTakeoverRefused, f.AfterTakeover),
		Unfenced: fmt.Sprintf("%d of %d refused", u.AfterTakeoverRefused, u.AfterTakeover),
		OK:       f.AfterTakeoverRefused == f.AfterTakeover, Control: true,
		ControlOK: controlled && u.AfterTakeoverRefused < u.AfterTakeover,
	})
	a.rep.addCheck(Check{
		Name:     "paused holders' writes after their deadline: refused",
		Fenced:   fmt.Sprintf("%d of %d refused", f.PausedAfterRefused, f.PausedAfter),
		Unfenced: fmt.Sprintf("%d of %d refused", u.PausedAfterRefused, u.PausedAfter),
		OK:       f.PausedAfterRefused == f.PausedAfter, Control: true,
		ControlOK: controlled && u.PausedAfterRefused < u.PausedAfter,
	})
	a.rep.addCheck(Check{
		Name:     "client outcomes match the register's log",
		Fenced:   fmt.Sprintf("%d disagree", f.Disagree),
		Unfenced: fmt.Sprintf("%d disagree", u.Disagree),
		OK:       f.Disagree == 0 && u.Disagree == 0,
	})
	if !controlled {
		a.rep.violate("control", "no pause caught a holder with a newer holder writing before it resumed: the unfenced control was not exercised")
	}
}

// flag reports what a register's records show went wrong: a violation for
// the fenced register, the evidence the checker works for the unfenced one.
func (a *analysis) flag(reg, msg string) {
	if reg == proto.RegFenced {
		a.rep.violate("register", msg)
		return
	}
	a.rep.Caught = append(a.rep.Caught, msg)
}

// controlExercised: some pause landed in a hold and a newer holder wrote
// before the paused one resumed, so the unfenced register must have
// accepted the paused holder's stale writes.
func (a *analysis) controlExercised() bool {
	for _, f := range a.in.faults {
		if f.Kind == Pause && f.Landed && f.Takeover {
			return true
		}
	}
	return false
}

func (a *analysis) checkProgress() {
	bound := a.in.cfg.SessionTimeout + 2*time.Second
	worst := time.Duration(0)
	worstAt := ""
	failed := 0
	a.rep.Progress = map[string]time.Duration{}
	for _, f := range a.in.faults {
		if f.Heal == 0 {
			continue
		}
		for _, key := range a.in.cfg.keys() {
			lat := time.Duration(math.MaxInt64)
			for _, h := range a.holds {
				if h.Key != key {
					continue
				}
				switch {
				case h.Acq >= f.Heal:
					lat = min(lat, time.Duration(h.Acq-f.Heal))
				case h.End() >= f.Heal+int64(bound):
					lat = 0 // held throughout: nothing to acquire
				}
			}
			if lat > a.rep.Progress[f.Kind] {
				a.rep.Progress[f.Kind] = lat
			}
			if lat > worst {
				worst, worstAt = lat, fmt.Sprintf("%s after fault %d (%s %s)", key, f.N, f.Kind, f.Target)
			}
			if lat > bound {
				failed++
				what := "no acquisition at all"
				if lat != time.Duration(math.MaxInt64) {
					what = fmt.Sprintf("first acquisition %v after", lat.Round(time.Millisecond))
				}
				a.rep.violate("progress", fmt.Sprintf("%s: %s the heal of fault %d (%s %s%s, healed at %s); bound %v",
					key, what, f.N, f.Kind, f.Target, f.Detail, a.rel(f.Heal), bound))
			}
		}
	}
	shown := "none"
	if worstAt != "" {
		shown = fmt.Sprintf("worst %v: %s", worst.Round(time.Millisecond), worstAt)
	}
	a.rep.addCheck(Check{
		Name:   fmt.Sprintf("progress: acquired within %v of every heal", bound),
		Fenced: shown, OK: failed == 0,
	})
}

func (a *analysis) checkPauses() {
	pauses, landed, takeover := 0, 0, 0
	for _, f := range a.in.faults {
		if f.Kind != Pause {
			continue
		}
		pauses++
		if f.Landed {
			landed++
		}
		if f.Takeover {
			takeover++
		} else {
			a.rep.violate("progress", fmt.Sprintf("fault %d: while client %d was stopped, no newer holder wrote within %v",
				f.N, f.Client, a.in.cfg.SessionTimeout+15*time.Second))
		}
	}
	fr := a.rep.Regs[proto.RegFenced]
	ok := landed == 0 || fr.PausedAfterRefused > 0
	if !ok {
		a.rep.violate("pause-refusals", fmt.Sprintf("%d pauses caught a holder, yet the fenced register refused none of their writes", landed))
	}
	a.rep.addCheck(Check{
		Name:   "stale writes refused > 0 when pauses caught holders",
		Fenced: fmt.Sprintf("%d refused, %d from %d paused holders", fr.Rejected, fr.PausedAfterRefused, landed),
		OK:     ok && pauses == takeover,
	})
}

func (a *analysis) checkShutdown() {
	orphans := len(a.in.orphans)
	for _, o := range a.in.orphans {
		a.rep.violate("orphans", "left behind after every client exited: "+o)
	}
	shown := "none"
	if a.in.orphanErr != nil {
		a.rep.violate("orphans", fmt.Sprintf("listing the lock directories: %v", a.in.orphanErr))
		shown = "listing failed"
	} else if orphans > 0 {
		shown = fmt.Sprintf("%d nodes", orphans)
	}
	a.rep.addCheck(Check{Name: "no orphaned lock nodes after exit", Fenced: shown, OK: orphans == 0 && a.in.orphanErr == nil})

	bad := 0
	for _, err := range a.in.stopErrs {
		if err != nil {
			bad++
			a.rep.violate("exit", err.Error())
		}
	}
	for _, h := range a.holds {
		if h.EndKind == endOpen {
			bad++
			a.rep.violate("exit", fmt.Sprintf("%s: client exited without releasing or losing it", a.describe(h)))
		}
	}
	for _, m := range a.in.harness {
		a.rep.violate("harness", m)
	}
	a.rep.addCheck(Check{
		Name:   "clients exited cleanly on SIGTERM",
		Fenced: fmt.Sprintf("%d of %d", len(a.in.stopErrs)-countErrs(a.in.stopErrs), len(a.in.stopErrs)),
		OK:     bad == 0,
	})
}

func countErrs(errs []error) int {
	n := 0
	for _, e := range errs {
		if e != nil {
			n++
		}
	}
	return n
}
