package chaos

import (
	"slices"
	"strings"
	"testing"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
)

// The checker is tested on a small made-up run: the seed scenario, where
// client 0 acquires, is stopped past its deadline, client 1 takes over and
// writes, and client 0 wakes up and writes with its old token.

func at(sec float64) int64 { return 1000e9 + int64(sec*1e9) }

type scenario struct {
	events  []proto.Event
	records map[string][]proto.Record
	faults  []Fault
}

func (s *scenario) ev(e proto.Event) { s.events = append(s.events, e) }

// op adds a client's op and, unless rec is nil, the register's record of it.
func (s *scenario) op(c int, tok int64, op proto.Op, rec *proto.Record) {
	s.ev(proto.Event{Ev: proto.EvOp, Client: c, T: op.Call, Key: proto.KeyMutex, Token: tok, Op: &op})
	if rec != nil {
		rec.ID, rec.Client, rec.Key, rec.Kind = op.ID, c, proto.KeyMutex, op.Kind
		if op.Kind == "w" {
			rec.Token, rec.Value = tok, op.Value
		}
		rec.Seq = int64(len(s.records[op.Reg]) + 1)
		s.records[op.Reg] = append(s.records[op.Reg], *rec)
	}
}

func w(id, reg string, call float64, out string, held, zombie bool) proto.Op {
	o := proto.Op{ID: id, Reg: reg, Kind: "w", Value: "v-" + id, Call: at(call), Outcome: out, Held: held, Zombie: zombie}
	if out != proto.OutUnknown && out != proto.OutNotSent {
		o.Ret = at(call + 0.01)
	}
	return o
}

// seedScenario builds the run; mutate adjusts it before the records are
// derived (clientBAt: when client 1 acquires; staleOutcome: what the fenced
// register answered client 0's late write).
func seedScenario(clientBAt float64, staleOutcome string) *scenario {
	s := &scenario{records: map[string][]proto.Record{}}
	const F, U = proto.RegFenced, proto.RegUnfenced
	s.ev(proto.Event{Ev: proto.EvAcquired, Client: 0, T: at(1), Key: proto.KeyMutex, Token: 10, Deadline: at(2)})
	s.op(0, 10, w("a1", F, 1.1, proto.OutOK, true, false), &proto.Record{Accepted: true, High: 0, RecvT: at(1.105)})
	s.op(0, 10, w("a2", U, 1.12, proto.OutOK, true, false), &proto.Record{Accepted: true, High: 0, RecvT: at(1.125)})
	// Client 0 is stopped at 1.5s, past its deadline at 2s.
	s.faults = append(s.faults, Fault{N: 1, Kind: Pause, Client: 0, Start: at(1.5), Heal: at(5), Landed: true, Takeover: true})

	b := clientBAt
	s.ev(proto.Event{Ev: proto.EvAcquired, Client: 1, T: at(b), Key: proto.KeyMutex, Token: 11, Deadline: at(b + 1)})
	s.op(1, 11, w("b1", F, b+0.1, proto.OutOK, true, false), &proto.Record{Accepted: true, High: 10, RecvT: at(b + 0.105)})
	s.op(1, 11, w("b2", U, b+0.12, proto.OutOK, true, false), &proto.Record{Accepted: true, High: 10, RecvT: at(b + 0.125)})
	s.op(1, 11, proto.Op{ID: "b3", Reg: F, Kind: "r", Call: at(b + 0.2), Ret: at(b + 0.21), Outcome: proto.OutOK, ReadTok: 11, ReadVal: "v-b1", Held: true},
		&proto.Record{High: 11, RecvT: at(b + 0.205), ReadTok: 11, ReadVal: "v-b1"})
	s.ev(proto.Event{Ev: proto.EvReleasing, Client: 1, T: at(b + 0.5), Key: proto.KeyMutex, Token: 11, Deadline: at(b + 1.5)})
	s.ev(proto.Event{Ev: proto.EvReleased, Client: 1, T: at(b + 0.6), Key: proto.KeyMutex, Token: 11})

	// Client 0 wakes up at 5s: one write it still believes it may make,
	// then it notices the loss and writes twice more on purpose.
	switch staleOutcome {
	case proto.OutUnknown:
		s.op(0, 10, w("a3", F, 5.05, proto.OutUnknown, true, false), nil)
	case proto.OutOK:
		s.op(0, 10, w("a3", F, 5.05, proto.OutOK, true, false), &proto.Record{Accepted: true, High: 11, RecvT: at(5.055)})
	default:
		s.op(0, 10, w("a3", F, 5.05, proto.OutRejected, true, false), &proto.Record{High: 11, RecvT: at(5.055)})
	}
	s.op(0, 10, w("a4", U, 5.07, proto.OutOK, true, false), &proto.Record{Accepted: true, High: 11, RecvT: at(5.075)})
	s.ev(proto.Event{Ev: proto.EvLost, Client: 0, T: at(5.1), Key: proto.KeyMutex, Token: 10, Deadline: at(2), Cause: proto.CauseSafeDeadline})
	s.op(0, 10, w("a5", F, 5.2, proto.OutRejected, false, true), &proto.Record{High: 11, RecvT: at(5.205)})
	s.op(0, 10, w("a6", U, 5.22, proto.OutOK, false, true), &proto.Record{Accepted: true, High: 11, RecvT: at(5.225)})
	s.ev(proto.Event{Ev: proto.EvReleased, Client: 0, T: at(5.3), Key: proto.KeyMutex, Token: 10, Err: "not held"})

	// Client 1 again, after the heal.
	s.ev(proto.Event{Ev: proto.EvAcquired, Client: 1, T: at(6), Key: proto.KeyMutex, Token: 12, Deadline: at(7)})
	s.op(1, 12, w("b4", F, 6.1, proto.OutOK, true, false), &proto.Record{Accepted: true, High: 11, RecvT: at(6.105)})
	s.op(1, 12, w("b5", U, 6.12, proto.OutOK, true, false), &proto.Record{Accepted: true, High: 11, RecvT: at(6.125)})
	s.ev(proto.Event{Ev: proto.EvReleasing, Client: 1, T: at(6.5), Key: proto.KeyMutex, Token: 12, Deadline: at(7.5)})
	s.ev(proto.Event{Ev: proto.EvReleased, Client: 1, T: at(6.6), Key: proto.KeyMutex, Token: 12})
	// The unfenced register's High follows what it accepted.
	return s
}

func (s *scenario) check(t *testing.T) *Report {
	t.Helper()
	rep := check(checkInput{
		cfg:      Config{Clients: 2, SessionTimeout: 2e9, SafetyMargin: 1e9, NoElection: true, Dir: t.TempDir()},
		events:   s.events,
		records:  s.records,
		faults:   s.faults,
		stopErrs: []error{nil, nil},
	})
	t.Log("\n" + rep.Table())
	return rep
}

func violationsOf(rep *Report, kind string) []string {
	var out []string
	for _, v := range rep.Violations() {
		if strings.HasPrefix(v, kind+":") {
			out = append(out, v)
		}
	}
	return out
}

func TestCheckerPassesFencedRun(t *testing.T) {
	rep := seedScenario(3, proto.OutRejected).check(t)
	if v := rep.Violations(); len(v) > 0 {
		t.Fatalf("violations in a correct run:\n%s", strings.Join(v, "\n"))
	}
	f, u := rep.Regs[proto.RegFenced], rep.Regs[proto.RegUnfenced]
	if f.PausedAfter != 2 || f.PausedAfterRefused != 2 {
		t.Errorf("fenced: paused writes after deadline %d, refused %d; want 2, 2", f.PausedAfter, f.PausedAfterRefused)
	}
	if u.StaleAccepted != 2 || u.PausedAfterRefused != 0 {
		t.Errorf("unfenced: stale accepted %d, paused refused %d; want 2, 0", u.StaleAccepted, u.PausedAfterRefused)
	}
	if len(rep.Caught) == 0 {
		t.Error("the unfenced control caught nothing")
	}
}

// A paused holder's hold ends at its deadline, not when it noticed: a
// takeover after the deadline is no overlap, one before it is.
func TestCheckerOverlapUsesDeadline(t *testing.T) {
	rep := seedScenario(1.9, proto.OutRejected).check(t)
	if v := violationsOf(rep, "exclusion"); len(v) != 1 {
		t.Fatalf("want one exclusion violation for a takeover before the deadline, got %q", rep.Violations())
	}
	rep = seedScenario(2.0, proto.OutRejected).check(t)
	if v := violationsOf(rep, "exclusion"); len(v) != 0 {
		t.Fatalf("a takeover at the deadline is no overlap: %q", v)
	}
}

func TestCheckerCatchesAcceptedStaleWrite(t *testing.T) {
	s := seedScenario(3, proto.OutOK)
	rep := s.check(t)
	for _, kind := range []string{"register", "linearizability"} {
		if len(violationsOf(rep, kind)) == 0 {
			t.Errorf("no %s violation for a stale write accepted by the fenced register: %q", kind, rep.Violations())
		}
	}
}

// A write whose answer never came may have taken effect or not: never a
// violation either way.
func TestCheckerUnknownOutcomeIsNoViolation(t *testing.T) {
	rep := seedScenario(3, proto.OutUnknown).check(t)
	if v := rep.Violations(); len(v) > 0 {
		t.Fatalf("an unknown outcome was reported:\n%s", strings.Join(v, "\n"))
	}
	if rep.Regs[proto.RegFenced].Unknown != 1 {
		t.Errorf("unknown ops: %d, want 1", rep.Regs[proto.RegFenced].Unknown)
	}
}

func TestCheckerProgress(t *testing.T) {
	s := seedScenario(3, proto.OutRejected)
	// A fault healed at 1s: the next acquisition, at 3s, is within 4s; one
	// healed at 7s sees none.
	s.faults = append(s.faults, Fault{N: 2, Kind: KillLeader, Target: "server 0", Start: at(0.5), Heal: at(1.001)})
	rep := s.check(t)
	if v := violationsOf(rep, "progress"); len(v) != 0 {
		t.Fatalf("progress within the bound was reported: %q", v)
	}
	s.faults = append(s.faults, Fault{N: 3, Kind: KillLeader, Target: "server 1", Start: at(6.8), Heal: at(7)})
	rep = s.check(t)
	if v := violationsOf(rep, "progress"); len(v) != 1 {
		t.Fatalf("want one progress violation, got %q", rep.Violations())
	}
}

func TestCheckerControlMustCatch(t *testing.T) {
	s := seedScenario(3, proto.OutRejected)
	// Pretend the unfenced register were fenced too: the control catches
	// nothing, which must fail the run.
	for i, r := range s.records[proto.RegUnfenced] {
		if r.Kind == "w" && r.Token < r.High {
			s.records[proto.RegUnfenced][i].Accepted = false
		}
	}
	for _, ev := range s.events {
		if ev.Op != nil && ev.Op.Reg == proto.RegUnfenced && slices.Contains([]string{"a4", "a6"}, ev.Op.ID) {
			ev.Op.Outcome = proto.OutRejected
		}
	}
	rep := s.check(t)
	if v := violationsOf(rep, "control"); len(v) == 0 {
		t.Fatalf("a control that caught nothing passed: %q", rep.Violations())
	}
}
