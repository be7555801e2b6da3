package recipes

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Kind markers: the text a contender's node name carries just before the
// sequence number ZooKeeper appends. We create "<dir>/_c_<uuid>-<marker>" with
// the SEQUENTIAL flag and the server names it "_c_<uuid>-<marker><seq>".
const (
	// MarkerLock marks a mutex contender, and the internal mutex of a
	// semaphore ("<dir>/locks"). Curator's InterProcessMutex and
	// go-zookeeper's zk.Lock ("_c_<32 hex>-lock-<seq>") use it too; kazoo
	// sees our nodes when its Lock is given extra_lock_patterns=["-lock-"].
	MarkerLock = "lock-"
	// MarkerRead and MarkerWrite mark read-write lock contenders, as in
	// Curator's InterProcessReadWriteLock.
	MarkerRead  = "__READ__"
	MarkerWrite = "__WRIT__"
	// MarkerLease marks a semaphore lease ("<dir>/leases"), as in Curator's
	// InterProcessSemaphoreV2.
	MarkerLease = "lease-"
	// MarkerLatch marks a leader-election candidate, as in Curator's
	// LeaderLatch.
	MarkerLatch = "latch-"
	// MarkerKazooLock marks kazoo's Lock and WriteLock contenders
	// ("<32 hex>__lock__<seq>"); we never create it, a mutex recognises it.
	MarkerKazooLock = "__lock__"
	// MarkerKazooRead marks kazoo's ReadLock contenders
	// ("<32 hex>__rlock__<seq>"); we never create it, a mutex recognises it.
	MarkerKazooRead = "__rlock__"
)

// Marker sets: what each recipe recognises as a contender in its directory.
// Each call returns a new slice.
//
// Recognising a foreign node as a contender can only make us wait for it;
// ignoring one that is a contender for its owner can let two clients hold the
// lock at once. So a mutex counts every kazoo contender too, readers
// included, exactly as kazoo's own WriteLock does.
func MutexMarkers() []string {
	return []string{MarkerLock, MarkerKazooLock, MarkerKazooRead}
}

// RWLockMarkers returns the markers of a read-write lock's contenders.
func RWLockMarkers() []string { return []string{MarkerRead, MarkerWrite} }

// LeaseMarkers returns the markers of a semaphore's leases.
func LeaseMarkers() []string { return []string{MarkerLease} }

// LatchMarkers returns the markers of leader-election candidates.
func LatchMarkers() []string { return []string{MarkerLatch} }

// KnownMarkers returns every marker above; ParseContender and SortContenders
// use it when given no markers.
func KnownMarkers() []string {
	return []string{MarkerLock, MarkerRead, MarkerWrite, MarkerLease, MarkerLatch, MarkerKazooLock, MarkerKazooRead}
}

// protectedPrefix starts every node name we create, as it does Curator's
// withProtection() names: "_c_" + UUID + "-".
const protectedPrefix = "_c_"

// Contender is a child of a recipe directory that takes part in the queue.
type Contender struct {
	Name        string // the child's name, as listed
	Seq         int64  // the sequence number ZooKeeper appended (an int32)
	Marker      string // the kind marker found before the sequence
	ProtectedID string // the UUID of a "_c_<uuid>-" name, or ""
}

// ParseContender reports whether the child name is a contender: it ends in
// one of markers (every known marker when none is given; empty markers are
// ignored) immediately followed by a ZooKeeper sequence suffix.
//
// The suffix is what the server appends to a SEQUENTIAL create: the parent's
// child counter, a signed 32-bit integer, formatted as %010d. It is ten digits
// up to 2147483647; the counter then wraps to negative values, which come out
// as "-2147483648" (eleven characters) up to "-000000001". Only that exact
// text is a suffix: "lock-12345678901", "lock-2147483648", "lock-+000000001"
// or "lock-abc" are not contenders.
//
// The suffix is anchored at the end of the name and the marker must end right
// before it, so marker-like text anywhere earlier in the name (in a UUID, in
// a foreign prefix) does not matter. When more than one reading is possible,
// the marker that ends latest (the ten-character, non-negative suffix) wins,
// then the longest marker.
//
// ProtectedID is set when the name starts with "_c_", a UUID and "-" before
// the marker: a canonical 36-character UUID (ours, Curator's) or 32 hex digits
// (go-zookeeper's). Nodes without one (kazoo's, or bare "lock-0000000001")
// are still contenders.
//
// A name that matches nothing yields ok == false; ParseContender never
// panics.
func ParseContender(name string, markers ...string) (c Contender, ok bool) {
	if len(markers) == 0 {
		markers = KnownMarkers()
	}
	for _, n := range [...]int{10, 11} {
		if len(name) < n {
			break
		}
		seq, ok := parseSeqSuffix(name[len(name)-n:])
		if !ok {
			continue
		}
		head := name[:len(name)-n]
		marker := ""
		for _, m := range markers {
			if m != "" && len(m) > len(marker) && strings.HasSuffix(head, m) {
				marker = m
			}
		}
		if marker == "" {
			continue
		}
		return Contender{
			Name:        name,
			Seq:         int64(seq),
			Marker:      marker,
			ProtectedID: protectedIDOf(name[:len(head)-len(marker)]),
		}, true
	}
	return Contender{}, false
}

// SortContenders keeps the children that ParseContender accepts with markers
// and returns them in queue order, which is creation order: by sequence
// number, read the way ZooKeeper's counter runs, then by Name (only a
// directory written to by hand has two nodes with one number).
//
// The sequence is the parent's child counter (its cversion, bumped by every
// child creation and deletion), a signed 32-bit integer that overflows from
// 2147483647 to -2147483648 and later runs from -1 on to 0. Sorted as plain
// numbers, a node created just after the overflow would come before the
// holder created just before it, and both would hold the lock: Curator and
// kazoo, which compare the suffix text, have that flaw (and order negative
// suffixes backwards). So the queue is ordered as the counter runs: modulo
// 2^32, starting after the widest gap between the sequences present. That is
// plain numeric order for every queue that does not straddle the overflow,
// and creation order for every queue whose contenders were all created
// within 2^31 counter steps of one another: every snapshot of such a
// directory, which is all that exclusion needs. Mixed-language peers still
// disagree once the counter has passed 2147483647, so they should not share
// a directory that old; a container parent, deleted when empty, restarts at 0.
func SortContenders(children []string, markers ...string) []Contender {
	if len(markers) == 0 {
		markers = KnownMarkers()
	}
	queue := make([]Contender, 0, len(children))
	for _, name := range children {
		if c, ok := ParseContender(name, markers...); ok {
			queue = append(queue, c)
		}
	}
	sortByCounter(queue)
	return queue
}

// sortByCounter sorts q by sequence modulo 2^32 (then by name) and rotates it
// to start after the widest gap between consecutive sequences, the gap from
// the largest back round to the smallest included. When the sequences span
// less than 2^31 that gap is wider than 2^31, so it is the same for every
// subset of them and the order is the counter's (RFC 1982 serial number)
// order. Otherwise the order is still total and the same on every client that
// sees the same children; ties between equal gaps go to the earliest start.
func sortByCounter(q []Contender) {
	// Children of one directory have distinct names, so (sequence, name) is
	// a total order and a stable sort would buy nothing: an unstable one is
	// several times faster on a long queue, where every handoff sorts.
	slices.SortFunc(q, func(a, b Contender) int {
		if c := cmp.Compare(uint32(a.Seq), uint32(b.Seq)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(q) < 2 {
		return
	}
	start := 0
	widest := uint64(uint32(q[0].Seq)) + 1<<32 - uint64(uint32(q[len(q)-1].Seq)) // round the top
	for i := 1; i < len(q); i++ {
		if gap := uint64(uint32(q[i].Seq) - uint32(q[i-1].Seq)); gap > widest {
			start, widest = i, gap
		}
	}
	if start > 0 {
		head := slices.Clone(q[:start])
		copy(q, q[start:])
		copy(q[len(q)-start:], head)
	}
}

// NewProtectedID returns a fresh random UUID, lowercase with dashes (36
// characters), to name one contender node.
func NewProtectedID() string { return uuid.NewString() }

// ProtectedPrefix returns "_c_" + id + "-", the start of every node name
// created for the contender id; the marker follows it.
func ProtectedPrefix(id string) string { return protectedPrefix + id + "-" }

// HasProtectedID reports whether the child name was created for the contender
// id. An empty id matches nothing.
func HasProtectedID(name, id string) bool {
	return id != "" && strings.HasPrefix(name, ProtectedPrefix(id))
}

// FindByProtectedID returns the first child created for the contender id.
// After a create whose outcome is unknown, this is how a recipe learns whether
// its node exists before it tries again.
func FindByProtectedID(children []string, id string) (string, bool) {
	for _, name := range children {
		if HasProtectedID(name, id) {
			return name, true
		}
	}
	return "", false
}

// parseSeqSuffix parses s as the exact text ZooKeeper gives a sequence number:
// fmt.Sprintf("%010d", n) for an int32 n.
func parseSeqSuffix(s string) (int32, bool) {
	if len(s) != 10 && len(s) != 11 {
		return 0, false
	}
	if s[0] != '-' && len(s) != 10 { // eleven characters only when negative
		return 0, false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && !(i == 0 && c == '-') {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	// Only the text ZooKeeper writes (%010d), checked without formatting (every
	// handoff parses the whole queue): ten digits are canonical whatever
	// their value; "-" and nine zero-padded digits must not be zero
	// ("-000000000"); "-" and ten digits carry no padding ("-0123456789").
	switch {
	case s[0] != '-':
	case len(s) == 10 && n == 0, len(s) == 11 && s[1] == '0':
		return 0, false
	}
	return int32(n), true
}

// protectedIDOf returns the contender id in beforeMarker (a node name up to
// its marker) when it starts with a protected prefix, or "".
func protectedIDOf(beforeMarker string) string {
	rest, ok := strings.CutPrefix(beforeMarker, protectedPrefix)
	if !ok {
		return ""
	}
	for _, n := range [...]int{36, 32} {
		if len(rest) > n && rest[n] == '-' && isProtectedIDText(rest[:n]) {
			return rest[:n]
		}
	}
	return ""
}

// isProtectedIDText reports whether s is a canonical UUID (8-4-4-4-12 hex
// digits, either case, as Java's UUID.toString and uuid.NewString write it) or
// 32 hex digits (go-zookeeper's protected names).
func isProtectedIDText(s string) bool {
	switch len(s) {
	case 36:
		for i := range len(s) {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return false
				}
			} else if !isHexDigit(s[i]) {
				return false
			}
		}
		return true
	case 32:
		for i := range len(s) {
			if !isHexDigit(s[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
