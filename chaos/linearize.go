package chaos

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/zkcoord/zkcoord/chaos/internal/proto"
)

// The register is checked for linearizability against a fenced register:
// one per key, whose state is the current value and the token it was
// written with. A write is accepted if its token is at least the state's,
// and then replaces the state; otherwise it is refused and changes nothing.
// A read returns the state.
//
// The history is what the clients saw: each operation's call and return on
// the shared clock. An operation whose answer never came (timeout, broken
// connection) may or may not have taken effect: it is pending, returning
// after everything else, with an output that matches either way, so it
// can never be the reason a history is found illegal. Operations that were
// never sent (the dial failed) had no effect and are left out.

type linInput struct {
	Key   string
	Write bool
	Token int64
	Value string
}

type linOutput struct {
	Unknown  bool
	Accepted bool   // write
	Token    int64  // read
	Value    string // read
}

type linState struct {
	Token int64
	Value string
}

var fencedRegister = porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(linInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() []any { return []any{linState{}} },
	Step: func(state, input, output any) []any {
		st, in, out := state.(linState), input.(linInput), output.(linOutput)
		if !in.Write {
			if out.Unknown || (out.Token == st.Token && out.Value == st.Value) {
				return []any{st}
			}
			return nil
		}
		fresh := in.Token >= st.Token
		applied := linState{Token: in.Token, Value: in.Value}
		switch {
		case out.Unknown && fresh:
			return []any{st, applied} // never arrived, or took effect
		case out.Unknown:
			return []any{st} // refused, if it arrived at all
		case out.Accepted && fresh:
			return []any{applied}
		case !out.Accepted && !fresh:
			return []any{st}
		}
		return nil
	},
	Equal: func(a, b any) bool { return a.(linState) == b.(linState) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		var res string
		switch {
		case out.Unknown:
			res = "?"
		case !in.Write:
			res = fmt.Sprintf("%d %q", out.Token, out.Value)
		case out.Accepted:
			res = "ok"
		default:
			res = "refused"
		}
		if in.Write {
			return fmt.Sprintf("write(%d, %q) -> %s", in.Token, in.Value, res)
		}
		return "read() -> " + res
	},
	DescribeState: func(state any) string {
		st := state.(linState)
		return fmt.Sprintf("%d %q", st.Token, st.Value)
	},
}

// history turns the clients' view of one register into porcupine's.
func history(ops []opRef) []porcupine.Operation {
	var last int64
	for _, r := range ops {
		last = max(last, r.op.Call, r.op.Ret)
	}
	var hist []porcupine.Operation
	for _, r := range ops {
		op := r.op
		in := linInput{Key: r.hold.Key, Write: op.Kind == "w", Value: op.Value}
		if in.Write {
			in.Token = r.hold.Token
		}
		var out linOutput
		ret := op.Ret
		switch op.Outcome {
		case proto.OutNotSent:
			continue
		case proto.OutUnknown:
			out.Unknown, ret = true, last+1
		case proto.OutOK:
			out.Accepted, out.Token, out.Value = true, op.ReadTok, op.ReadVal
		}
		hist = append(hist, porcupine.Operation{
			ClientId: r.hold.Client, Input: in, Call: op.Call, Output: out, Return: ret,
		})
	}
	return hist
}

// linTimeout bounds each check. Unknown after that long is reported as a
// failure, never passed.
const linTimeout = 2 * time.Minute

func (a *analysis) checkLinearizable() {
	model := fencedRegister.ToModel()
	res := map[string]porcupine.CheckResult{}
	for _, reg := range []string{proto.RegFenced, proto.RegUnfenced} {
		var ops []opRef
		for _, ref := range a.ops {
			if ref.op.Reg == reg {
				ops = append(ops, ref)
			}
		}
		slices.SortFunc(ops, func(x, y opRef) int { return cmp.Compare(x.op.Call, y.op.Call) })
		r, info := porcupine.CheckOperationsVerbose(model, history(ops), linTimeout)
		res[reg] = r
		if r == porcupine.Illegal {
			path := filepath.Join(a.in.cfg.Dir, "linearizability-"+reg+".html")
			if err := porcupine.VisualizePath(model, info, path); err == nil {
				a.rep.Notes = append(a.rep.Notes, fmt.Sprintf("%s register: porcupine's view of the illegal history: %s", reg, path))
			}
		}
	}
	f, u := res[proto.RegFenced], res[proto.RegUnfenced]
	if f != porcupine.Ok {
		a.rep.violate("linearizability", fmt.Sprintf("the fenced register's history is %s under the fenced-register model", f))
	}
	a.rep.addCheck(Check{
		Name:   "register history linearizable (porcupine, fenced model)",
		Fenced: string(f), Unfenced: string(u),
		OK: f == porcupine.Ok, Control: true, ControlOK: u == porcupine.Illegal,
	})
}
