package recipes

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	curatorID = "53345f98-9423-4e0c-a7b5-9f819e3ec2e1" // Java's UUID.toString()
	goZKID    = "38553bd6d1d57f710ae70ddcc3d24715"     // go-zookeeper: 16 random bytes, %x
	kazooHex  = "da5719988c244fc793f49ec3aa29b566"     // kazoo: uuid4().hex
)

func TestParseContender(t *testing.T) {
	tests := []struct {
		name    string
		markers []string
		ok      bool
		seq     int64
		marker  string
		id      string
	}{
		// Ours and Curator's: "_c_<uuid>-<marker><seq>".
		{"_c_" + curatorID + "-lock-0000000001", MutexMarkers(), true, 1, MarkerLock, curatorID},
		{"_c_" + strings.ToUpper(curatorID) + "-lock-0000000001", MutexMarkers(), true, 1, MarkerLock, strings.ToUpper(curatorID)},
		{"_c_" + curatorID + "-__READ__0000000003", RWLockMarkers(), true, 3, MarkerRead, curatorID},
		{"_c_" + curatorID + "-__WRIT__0000000004", RWLockMarkers(), true, 4, MarkerWrite, curatorID},
		{"_c_" + curatorID + "-lease-0000000007", LeaseMarkers(), true, 7, MarkerLease, curatorID},
		{"_c_" + curatorID + "-latch-0000000002", LatchMarkers(), true, 2, MarkerLatch, curatorID},
		{"_c_" + curatorID + "-lock-2147483647", MutexMarkers(), true, math.MaxInt32, MarkerLock, curatorID},
		{"_c_" + curatorID + "-lock-0000000000", MutexMarkers(), true, 0, MarkerLock, curatorID},
		// The wrong recipe's markers: not a contender here.
		{"_c_" + curatorID + "-__READ__0000000003", MutexMarkers(), false, 0, "", ""},
		{"_c_" + curatorID + "-lock-0000000001", RWLockMarkers(), false, 0, "", ""},
		// No markers: every known marker.
		{"_c_" + curatorID + "-lease-0000000007", nil, true, 7, MarkerLease, curatorID},
		{"_c_" + curatorID + "-__WRIT__0000000004", nil, true, 4, MarkerWrite, curatorID},

		// kazoo: "<32 hex>__lock__<seq>", "<32 hex>__rlock__<seq>", no protected id.
		{kazooHex + "__lock__0000000003", MutexMarkers(), true, 3, MarkerKazooLock, ""},
		{kazooHex + "__rlock__0000000032", MutexMarkers(), true, 32, MarkerKazooRead, ""},
		{kazooHex + "__lock__0000000003", RWLockMarkers(), false, 0, "", ""},

		// go-zookeeper's zk.Lock: "_c_<32 hex>-lock-<seq>", wrapped too.
		{"_c_" + goZKID + "-lock-0000000000", MutexMarkers(), true, 0, MarkerLock, goZKID},
		{"_c_" + goZKID + "-lock--2147483648", MutexMarkers(), true, math.MinInt32, MarkerLock, goZKID},

		// Wrapped sequences: %010d of a negative int32, sign included in the width.
		{"lock--2147483648", MutexMarkers(), true, math.MinInt32, MarkerLock, ""},
		{"lock--1000000000", MutexMarkers(), true, -1000000000, MarkerLock, ""},
		{"lock--999999999", MutexMarkers(), true, -999999999, MarkerLock, ""},
		{"lock--000000001", MutexMarkers(), true, -1, MarkerLock, ""},
		{"__READ__-000000042", RWLockMarkers(), true, -42, MarkerRead, ""},
		{"lock--000000000", MutexMarkers(), false, 0, "", ""},  // -0: never written
		{"lock--0000000001", MutexMarkers(), false, 0, "", ""}, // not %010d
		{"lock--2147483649", MutexMarkers(), false, 0, "", ""}, // below int32
		{"lock-2147483648", MutexMarkers(), false, 0, "", ""},  // above int32

		// Bare names with no prefix: contenders (Curator's sort and kazoo's
		// pattern take them), with no protected id.
		{"lock-0000000001", MutexMarkers(), true, 1, MarkerLock, ""},
		{"__READ__0000000001", RWLockMarkers(), true, 1, MarkerRead, ""},
		{"__READ__0000000001", MutexMarkers(), false, 0, "", ""},

		// Foreign names.
		{"", MutexMarkers(), false, 0, "", ""},
		{"foo", MutexMarkers(), false, 0, "", ""},
		{"lock-", MutexMarkers(), false, 0, "", ""},
		{"lock-abc", MutexMarkers(), false, 0, "", ""},
		{"lock-12345678901", MutexMarkers(), false, 0, "", ""}, // 11 digits
		{"lock-000000001", MutexMarkers(), false, 0, "", ""},   // 9 digits
		{"lock-+000000001", MutexMarkers(), false, 0, "", ""},
		{"lock- 000000001", MutexMarkers(), false, 0, "", ""},
		{"lock-0000000001 ", MutexMarkers(), false, 0, "", ""},
		{"lock-00000000٠1", MutexMarkers(), false, 0, "", ""}, // an Arabic-Indic digit
		{"0000000001", MutexMarkers(), false, 0, "", ""},
		{"0000000001", []string{""}, false, 0, "", ""}, // an empty marker is ignored
		{"locks", MutexMarkers(), false, 0, "", ""},
		{"leases", LeaseMarkers(), false, 0, "", ""},

		// Marker-like text before the real marker does not matter.
		{"_c_lock-0000000001-lock-0000000002", MutexMarkers(), true, 2, MarkerLock, ""},
		{"lock-0000000001__lock__0000000002", MutexMarkers(), true, 2, MarkerKazooLock, ""},
		{"_c_" + curatorID + "-lease-0000000009latch-0000000003", LatchMarkers(), true, 3, MarkerLatch, curatorID},
		{"_c_" + curatorID + "-lock-0000000009", LatchMarkers(), false, 0, "", ""},
		{"_c_" + curatorID + "-foo-lock-0000000001", MutexMarkers(), true, 1, MarkerLock, curatorID},
		{"_c_" + curatorID + "lock-0000000001", MutexMarkers(), true, 1, MarkerLock, ""},        // no '-' after the uuid
		{"_c_" + curatorID[:35] + "g-lock-0000000001", MutexMarkers(), true, 1, MarkerLock, ""}, // not hex
		{"_c_" + curatorID + "-", MutexMarkers(), false, 0, "", ""},
		// The longest marker ending at the suffix wins, whatever the order given.
		{"_c_x-lock-0000000001", []string{"lock-", "-lock-"}, true, 1, "-lock-", ""},
		{"_c_x-lock-0000000001", []string{"-lock-", "lock-"}, true, 1, "-lock-", ""},
		// Two readings: the marker ending latest (non-negative suffix) wins.
		{"a--1234567890", []string{"a-", "a--"}, true, 1234567890, "a--", ""},
		{"a--1234567890", []string{"a-"}, true, -1234567890, "a-", ""},
	}
	for _, tt := range tests {
		c, ok := ParseContender(tt.name, tt.markers...)
		want := Contender{}
		if tt.ok {
			want = Contender{Name: tt.name, Seq: tt.seq, Marker: tt.marker, ProtectedID: tt.id}
		}
		if ok != tt.ok || c != want {
			t.Errorf("ParseContender(%q, %q) = %+v, %v; want %+v, %v", tt.name, tt.markers, c, ok, want, tt.ok)
		}
	}
}

func TestSeqSuffix(t *testing.T) {
	for _, n := range []int32{0, 1, 42, 999999999, 1000000000, math.MaxInt32, -1, -42, -999999999, -1000000000, math.MinInt32} {
		s := formatSeqSuffix(n)
		if want := fmt.Sprintf("%010d", n); s != want {
			t.Errorf("formatSeqSuffix(%d) = %q, want %q", n, s, want)
		}
		if got, ok := parseSeqSuffix(s); !ok || got != n {
			t.Errorf("parseSeqSuffix(%q) = %d, %v; want %d, true", s, got, ok, n)
		}
	}
}

func TestSortContenders(t *testing.T) {
	p := ProtectedPrefix(curatorID)
	children := []string{
		"foo",
		p + "lock-0000000010",
		kazooHex + "__lock__0000000003",
		"lock-abc",
		p + "__READ__0000000001",
		"_c_" + goZKID + "-lock-0000000007",
		p + "lock-0000000005",
		"b-lock-0000000005", // a tie (only by hand): broken by name
		"a-lock-0000000005",
		"locks",
		kazooHex + "__rlock__0000000004",
	}
	var got []string
	for _, c := range SortContenders(children, MutexMarkers()...) {
		got = append(got, c.Name)
	}
	want := []string{
		kazooHex + "__lock__0000000003",
		kazooHex + "__rlock__0000000004",
		p + "lock-0000000005", // '_' (0x5F) sorts before 'a' (0x61)
		"a-lock-0000000005",
		"b-lock-0000000005",
		"_c_" + goZKID + "-lock-0000000007",
		p + "lock-0000000010",
	}
	if !slices.Equal(got, want) {
		t.Errorf("SortContenders:\n got %q\nwant %q", got, want)
	}
	if q := SortContenders(nil); len(q) != 0 {
		t.Errorf("SortContenders(nil) = %v", q)
	}
	if q := SortContenders([]string{"foo", "bar"}, MutexMarkers()...); len(q) != 0 {
		t.Errorf("SortContenders(foreign) = %v", q)
	}
}

// TestSortContendersWrap: the queue follows ZooKeeper's counter through its
// overflow, so the holder created before it stays ahead of nodes created
// after it.
func TestSortContendersWrap(t *testing.T) {
	tests := []struct {
		name string
		seqs []int32 // in creation order
	}{
		{"across the overflow", []int32{2147483645, 2147483646, 2147483647, -2147483648, -2147483647}},
		{"holder just before, one waiter just after", []int32{2147483647, -2147483648}},
		{"from -1 on to 0", []int32{-3, -2, -1, 0, 1}},
		{"all negative", []int32{-2147483648, -1000000000, -999999999, -1}},
		{"small", []int32{0, 1, 2, 999}},
	}
	for _, tt := range tests {
		var want, children []string
		for _, n := range tt.seqs {
			want = append(want, ProtectedPrefix(curatorID)+MarkerLock+formatSeqSuffix(n))
		}
		children = slices.Clone(want)
		slices.Reverse(children)
		var got []string
		for _, c := range SortContenders(children, MutexMarkers()...) {
			got = append(got, c.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, want)
		}
	}
}

// TestSortContendersCreationOrder: for random directories whose live
// contenders were created within 2^31 counter steps, every snapshot (any
// subset, in any order) sorts into creation order; and that is plain numeric
// order unless the snapshot straddles the overflow.
func TestSortContendersCreationOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 31))
	for iter := range 20000 {
		base := uint32(rng.Uint32())
		if iter%4 == 0 { // often start right before the overflow
			base = math.MaxInt32 - uint32(rng.IntN(8))
		}
		span := uint32(rng.Int64N(1 << 31)) // offsets in [0, span]: span < 2^31
		if iter%3 == 0 {
			span = uint32(rng.IntN(64))
		}
		k := rng.IntN(8) + 1
		offsets := map[uint32]bool{}
		for range k {
			offsets[uint32(rng.Int64N(int64(span)+1))] = true
		}
		sorted := slices.Sorted(maps.Keys(offsets))
		var want []string
		straddles := false
		for i, off := range sorted {
			seq := int32(base + off)
			want = append(want, fmt.Sprintf("n%d-lock-%s", i, formatSeqSuffix(seq)))
			if i > 0 && int32(base+sorted[i-1]) > seq {
				straddles = true
			}
		}
		children := slices.Clone(want)
		rng.Shuffle(len(children), func(i, j int) { children[i], children[j] = children[j], children[i] })
		queue := SortContenders(children, MarkerLock)
		var got []string
		for _, c := range queue {
			got = append(got, c.Name)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("iter %d (base %d, span %d):\n got %q\nwant %q", iter, base, span, got, want)
		}
		numeric := slices.IsSortedFunc(queue, func(a, b Contender) int { return cmp.Compare(a.Seq, b.Seq) })
		if numeric == straddles {
			t.Fatalf("iter %d: numeric order %v, straddles the overflow %v: %q", iter, numeric, straddles, got)
		}
	}
}

var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestProtectedID(t *testing.T) {
	id := NewProtectedID()
	if !canonicalUUID.MatchString(id) {
		t.Fatalf("NewProtectedID() = %q, want a lowercase canonical v4 UUID", id)
	}
	if other := NewProtectedID(); other == id {
		t.Fatalf("NewProtectedID returned %q twice", id)
	}
	if got, want := ProtectedPrefix(curatorID), "_c_"+curatorID+"-"; got != want {
		t.Errorf("ProtectedPrefix = %q, want %q", got, want)
	}

	name := ProtectedPrefix(id) + MarkerLock + "0000000012"
	c, ok := ParseContender(name, MutexMarkers()...)
	if !ok || c.ProtectedID != id || c.Seq != 12 {
		t.Errorf("ParseContender(%q) = %+v, %v", name, c, ok)
	}
	if !HasProtectedID(name, id) || HasProtectedID(name, curatorID) || HasProtectedID(name, "") {
		t.Errorf("HasProtectedID(%q, ...) wrong", name)
	}
	if HasProtectedID("_c_"+id+"lock-0000000012", id) {
		t.Errorf("HasProtectedID matched a name with no '-' after the id")
	}

	children := []string{
		"foo",
		ProtectedPrefix(curatorID) + "lock-0000000001",
		kazooHex + "__lock__0000000002",
		name,
	}
	if got, ok := FindByProtectedID(children, id); !ok || got != name {
		t.Errorf("FindByProtectedID(.., id) = %q, %v; want %q, true", got, ok, name)
	}
	if got, ok := FindByProtectedID(children, NewProtectedID()); ok {
		t.Errorf("FindByProtectedID(.., fresh id) = %q, true", got)
	}
	if got, ok := FindByProtectedID(children, ""); ok {
		t.Errorf(`FindByProtectedID(.., "") = %q, true`, got)
	}
	if got, ok := FindByProtectedID(children, goZKID[:8]); ok {
		t.Errorf("FindByProtectedID matched an id prefix: %q", got)
	}
}

func FuzzParseContender(f *testing.F) {
	f.Add("_c_"+curatorID+"-lock-0000000001", "lock-", int32(1))
	f.Add(kazooHex+"__lock__0000000003", "__lock__", int32(3))
	f.Add("_c_"+goZKID+"-lock--2147483648", "-lock-", int32(math.MinInt32))
	f.Add("lock--000000001", "__READ__", int32(-1))
	f.Add("lock-2147483648", "", int32(math.MaxInt32))
	f.Add("a--1234567890", "a-", int32(-1234567890))
	f.Add("foo", "-", int32(0))
	f.Fuzz(func(t *testing.T, name, marker string, seq int32) {
		check := func(name string, markers []string) (Contender, bool) {
			c, ok := ParseContender(name, markers...)
			if !ok {
				if c != (Contender{}) {
					t.Fatalf("ParseContender(%q, %q) = %+v, false: want the zero Contender", name, markers, c)
				}
				return c, ok
			}
			if len(markers) == 0 {
				markers = KnownMarkers()
			}
			suffix := formatSeqSuffix(int32(c.Seq))
			switch {
			case c.Name != name:
				t.Fatalf("ParseContender(%q): Name = %q", name, c.Name)
			case c.Seq < math.MinInt32 || c.Seq > math.MaxInt32:
				t.Fatalf("ParseContender(%q): Seq %d out of int32", name, c.Seq)
			case fmt.Sprintf("%010d", c.Seq) != suffix:
				t.Fatalf("formatSeqSuffix(%d) = %q, fmt says %q", c.Seq, suffix, fmt.Sprintf("%010d", c.Seq))
			case c.Marker == "" || !slices.Contains(markers, c.Marker):
				t.Fatalf("ParseContender(%q, %q): Marker %q not given", name, markers, c.Marker)
			case !strings.HasSuffix(name, c.Marker+suffix):
				t.Fatalf("ParseContender(%q): %q + %q is not its end", name, c.Marker, suffix)
			case c.ProtectedID != "" && !HasProtectedID(name, c.ProtectedID):
				t.Fatalf("ParseContender(%q): ProtectedID %q is not its prefix", name, c.ProtectedID)
			case c.ProtectedID != "" && len(ProtectedPrefix(c.ProtectedID))+len(c.Marker)+len(suffix) > len(name):
				t.Fatalf("ParseContender(%q): ProtectedID %q overlaps the marker", name, c.ProtectedID)
			}
			return c, ok
		}
		check(name, nil)
		check(name, []string{marker})
		check(name, append(MutexMarkers(), marker))

		// Whatever precedes it, a marker and a suffix make a contender with
		// that sequence: unless the marker is all '-', where the suffix's own
		// sign can be read as the marker's end.
		if marker == "" || strings.Trim(marker, "-") == "" {
			return
		}
		built := name + marker + formatSeqSuffix(seq)
		c, ok := check(built, []string{marker})
		if !ok || c.Seq != int64(seq) || c.Marker != marker {
			t.Fatalf("ParseContender(%q, %q) = %+v, %v; want Seq %d", built, marker, c, ok, seq)
		}
		id := NewProtectedID()
		built = ProtectedPrefix(id) + marker + formatSeqSuffix(seq)
		if c, ok := check(built, []string{marker}); !ok || c.ProtectedID != id || c.Seq != int64(seq) {
			t.Fatalf("ParseContender(%q, %q) = %+v, %v; want id %s, Seq %d", built, marker, c, ok, id, seq)
		}
	})
}

// formatSeqSuffix formats n as ZooKeeper does: %010d, the sign counted in the
// width ("0000000042", "-000000042", "-2147483648").
func formatSeqSuffix(n int32) string {
	var buf [11]byte
	i := len(buf)
	u := uint32(n)
	if n < 0 {
		u = uint32(-int64(n))
	}
	for u > 0 {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	width := 10
	if n < 0 {
		width = 9
	}
	for len(buf)-i < width {
		i--
		buf[i] = '0'
	}
	if n < 0 {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
