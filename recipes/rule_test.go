package recipes

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// queueOf builds a sorted queue from a compact description: "RWRR" is a
// reader, a writer and two readers, in that order.
func queueOf(kinds string) []Contender {
	q := make([]Contender, len(kinds))
	for i, k := range kinds {
		marker := MarkerRead
		if k == 'W' {
			marker = MarkerWrite
		}
		q[i] = Contender{
			Name:   fmt.Sprintf("_c_%08d-0000-4000-8000-000000000000-%s%010d", i, marker, i),
			Seq:    int64(i),
			Marker: marker,
		}
	}
	return q
}

// describe renders a Decision: "A" when acquired, else the index of the
// watched contender.
func describe(q []Contender, d Decision) string {
	if d.Acquired {
		if d.Watch != "" {
			return "A+watch " + d.Watch
		}
		return "A"
	}
	for i, c := range q {
		if c.Name == d.Watch {
			return fmt.Sprint(i)
		}
	}
	return fmt.Sprintf("watch %q", d.Watch)
}

func TestRules(t *testing.T) {
	shared := Shared(MarkerWrite)
	tests := []struct {
		rule  string
		queue string
		want  []string // one per contender
	}{
		{"exclusive", "W", []string{"A"}},
		{"exclusive", "WWW", []string{"A", "0", "1"}},
		{"exclusive", "RRWR", []string{"A", "0", "1", "2"}}, // a writer waits for readers too

		// A read-write lock: writers follow Exclusive, readers Shared.
		{"rwlock", "R", []string{"A"}},
		{"rwlock", "RRR", []string{"A", "A", "A"}},
		{"rwlock", "WRR", []string{"A", "0", "0"}},
		{"rwlock", "RRWRR", []string{"A", "A", "1", "2", "2"}},
		{"rwlock", "WWRR", []string{"A", "0", "1", "1"}}, // the nearest writer, not the first
		{"rwlock", "RWRWR", []string{"A", "0", "1", "2", "3"}},
		{"rwlock", "RRRW", []string{"A", "A", "A", "2"}},

		{"first2", "RRRRR", []string{"A", "A", "0", "1", "2"}},
		{"first3", "RR", []string{"A", "A"}},
		{"first1", "RRR", []string{"A", "0", "1"}},
	}
	rwlock := func(q []Contender, self int) Decision {
		if self >= 0 && self < len(q) && q[self].Marker == MarkerWrite {
			return Exclusive(q, self)
		}
		return shared(q, self)
	}
	rules := map[string]Rule{"exclusive": Exclusive, "shared": shared, "rwlock": rwlock, "first1": FirstN(1), "first2": FirstN(2), "first3": FirstN(3)}
	for _, tt := range tests {
		q := queueOf(tt.queue)
		var got []string
		for self := range q {
			got = append(got, describe(q, rules[tt.rule](q, self)))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s on %s: got %v, want %v", tt.rule, tt.queue, got, tt.want)
		}
	}

	// Out of range: the zero Decision, never a panic.
	for name, r := range rules {
		q := queueOf("WWR")
		for _, c := range []struct {
			q    []Contender
			self int
		}{{nil, 0}, {nil, -1}, {q, -1}, {q, len(q)}, {q, len(q) + 5}} {
			if d := r(c.q, c.self); d != (Decision{}) {
				t.Errorf("%s on %d contenders, self %d = %+v, want the zero Decision", name, len(c.q), c.self, d)
			}
		}
	}
}

func TestRuleArguments(t *testing.T) {
	for _, f := range []func(){
		func() { FirstN(0) },
		func() { FirstN(-3) },
		func() { Shared("") },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), ErrInvalidArgument.Error()) {
					t.Errorf("recovered %v, want a panic naming ErrInvalidArgument", r)
				}
			}()
			f()
		}()
	}
}

// TestRuleProperties checks, on random read-write queues, that the rules
// never break exclusion and always leave each waiter exactly one earlier node
// to watch.
func TestRuleProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 11))
	shared := Shared(MarkerWrite)
	for iter := range 5000 {
		var b strings.Builder
		for range rng.IntN(12) + 1 {
			if rng.IntN(3) == 0 {
				b.WriteByte('W')
			} else {
				b.WriteByte('R')
			}
		}
		q := queueOf(b.String())

		writersIn, readersIn := 0, 0
		for self, c := range q {
			// A writer follows Exclusive, a reader Shared.
			d := shared(q, self)
			if c.Marker == MarkerWrite {
				d = Exclusive(q, self)
			}
			// The pure Exclusive rule must also hold on its own, for every node.
			checkWatch(t, iter, q, self, Exclusive(q, self))
			checkWatch(t, iter, q, self, d)

			if d.Acquired {
				if c.Marker == MarkerWrite {
					writersIn++
				} else {
					readersIn++
				}
			} else if c.Marker == MarkerRead && q[indexOf(q, d.Watch)].Marker != MarkerWrite {
				t.Fatalf("iter %d, %s: reader %d watches a reader", iter, b.String(), self)
			}
		}
		if writersIn > 1 || (writersIn == 1 && readersIn > 0) {
			t.Fatalf("iter %d, %s: %d writers and %d readers hold at once", iter, b.String(), writersIn, readersIn)
		}
		// Someone always makes progress: the head of the queue holds.
		if writersIn+readersIn == 0 {
			t.Fatalf("iter %d, %s: nobody holds", iter, b.String())
		}

		// FirstN: exactly min(n, len) hold, and each waiter watches n back.
		n := rng.IntN(4) + 1
		held := 0
		for self := range q {
			d := FirstN(n)(q, self)
			checkWatch(t, iter, q, self, d)
			if d.Acquired {
				held++
			} else if indexOf(q, d.Watch) != self-n {
				t.Fatalf("iter %d: FirstN(%d) at %d watches %q", iter, n, self, d.Watch)
			}
		}
		if held != min(n, len(q)) {
			t.Fatalf("iter %d: FirstN(%d) on %d contenders: %d hold", iter, n, len(q), held)
		}
	}
}

// checkWatch: an acquired contender watches nothing; a waiting one watches
// exactly one node of the queue, before itself.
func checkWatch(t *testing.T, iter int, q []Contender, self int, d Decision) {
	t.Helper()
	if d.Acquired {
		if d.Watch != "" {
			t.Fatalf("iter %d: contender %d acquired but watches %q", iter, self, d.Watch)
		}
		return
	}
	if i := indexOf(q, d.Watch); i < 0 || i >= self {
		t.Fatalf("iter %d: contender %d watches %q (index %d), want an earlier node", iter, self, d.Watch, i)
	}
}

func indexOf(q []Contender, name string) int {
	for i, c := range q {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// The handoff fast path (grantedWithout, then confirm instead of a listing)
// is sound only if rules are monotone: a contender ahead of us leaving never
// takes a grant away, and every contender that still blocks us is in the
// listing we decided on. Check both for every rule, on random queues, by
// removing random subsets of the contenders ahead.
func TestRulesAreMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 31))
	rules := map[string]Rule{
		"exclusive": Exclusive, "shared": Shared(MarkerWrite),
		"first1": FirstN(1), "first3": FirstN(3), "limit2": Limit(2),
	}
	for iter := range 3000 {
		var b strings.Builder
		for range rng.IntN(10) + 1 {
			b.WriteByte("RW"[rng.IntN(2)])
		}
		q := queueOf(b.String())
		for name, rule := range rules {
			for self := range q {
				before := rule(q, self).Acquired
				var rest []Contender
				removed := 0
				for i, c := range q {
					if i < self && rng.IntN(2) == 0 {
						removed++
						continue
					}
					rest = append(rest, c)
				}
				if after := rule(rest, self-removed).Acquired; before && !after {
					t.Fatalf("iter %d, %s on %s: contender %d held, then lost its grant when %d ahead left", iter, name, b.String(), self, removed)
				}
			}
		}
	}
}

func TestNewHandoff(t *testing.T) {
	q := queueOf("WRRWR")
	cases := []struct {
		rule               Rule
		self               int
		watched            string
		predGone, headGone bool
	}{
		{Exclusive, 1, q[0].Name, true, true},  // the head is the only one ahead
		{Exclusive, 2, q[1].Name, false, true}, // the head is still ahead, until it goes
		{Shared(MarkerWrite), 2, q[0].Name, true, true},
		{Shared(MarkerWrite), 4, q[3].Name, false, true}, // the writer at the head still blocks
		{Exclusive, 4, q[3].Name, false, true},           // readers block a writer until they go
		{Exclusive, 1, q[3].Name, false, false},          // not ahead of us: no grant from it
		{Exclusive, 1, "no-such-node", false, false},     // not in the queue at all
		{FirstN(2), 2, q[0].Name, true, true},            // one ahead of two permits, once it goes
		{FirstN(2), 3, q[1].Name, false, true},           // still two ahead
	}
	for i, c := range cases {
		h := newHandoff(c.rule, q, c.self, c.watched)
		if h.predGone != c.predGone || h.headGone != c.headGone {
			t.Errorf("case %d: self %d watching %s: predGone %v headGone %v, want %v %v", i, c.self, c.watched, h.predGone, h.headGone, c.predGone, c.headGone)
		}
	}
}

// The handoff grants on a deletion without listing again. Check, for every
// rule on random queues, that it grants nothing a listing would refuse:
// when predGone, the rule grants us in any queue left after pred and any
// others ahead have gone; when headGone, in any queue left after pred and
// everything ahead of it have gone (a marked pred heads the queue: nothing
// ahead of it is left); and when it also says we head the queue then, we do.
func TestHandoffGrantsNothingAListingRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 17))
	rules := map[string]Rule{
		"exclusive": Exclusive, "shared": Shared(MarkerWrite),
		"first1": FirstN(1), "first3": FirstN(3),
	}
	for iter := range 3000 {
		var b strings.Builder
		for range rng.IntN(12) + 1 {
			b.WriteByte("RW"[rng.IntN(2)])
		}
		q := queueOf(b.String())
		for name, rule := range rules {
			for self := range q {
				d := rule(q, self)
				if d.Acquired || d.Watch == "" {
					continue
				}
				h := newHandoff(rule, q, self, d.Watch)
				p := indexOf(q, d.Watch)
				for _, headGone := range []bool{false, true} {
					if (!headGone && !h.predGone) || (headGone && !h.headGone) {
						continue
					}
					var rest []Contender
					for i, c := range q {
						switch {
						case i == p, headGone && i < p:
							continue
						case i < self && i != p && rng.IntN(2) == 0:
							continue
						}
						rest = append(rest, c)
					}
					me := indexOf(rest, q[self].Name)
					if !rule(rest, me).Acquired {
						t.Fatalf("iter %d, %s on %s: contender %d would be granted on %s's deletion (headGone %v), but a listing of %d refuses", iter, name, b.String(), self, d.Watch, headGone, len(rest))
					}
					if headGone && h.adjacent && me != 0 {
						t.Fatalf("iter %d, %s on %s: contender %d told it heads the queue at index %d", iter, name, b.String(), self, me)
					}
				}
			}
		}
	}
}
