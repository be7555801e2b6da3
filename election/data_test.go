package election

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/zkcoord/zkcoord/recipes"
)

func TestProclaimedValue(t *testing.T) {
	const leader = "_c_1b4e28ba-2fa1-11d2-883f-0016d3cca427-latch-0000000003"
	for _, c := range []struct {
		value []byte
		data  string
	}{
		{[]byte("10.0.0.1:80"), leader + "\x0010.0.0.1:80"},
		{[]byte("a\x00b"), leader + "\x00a\x00b"}, // a value may hold NULs
		{nil, leader + "\x00"},
	} {
		data := encode(leader, c.value)
		if string(data) != c.data {
			t.Errorf("encode(%q) = %q, want %q", c.value, data, c.data)
		}
		v, ok := valueOf(data, leader)
		if !ok || !bytes.Equal(v, c.value) || (len(c.value) == 0) != (v == nil) {
			t.Errorf("valueOf(%q) = %q, %v", data, v, ok)
		}
		// Another leader's value is never this one's.
		if v, ok := valueOf(data, "_c_x-latch-0000000004"); v != nil || ok {
			t.Errorf("value %q credited to another leader", v)
		}
	}
	for _, data := range []string{"", "no separator", "\x00v"} {
		if v, ok := valueOf([]byte(data), leader); v != nil || ok {
			t.Errorf("valueOf(%q) = %q, want none", data, v)
		}
	}
	if err := validIdentity(strings.Repeat("x", recipes.MaxDataLen+1)); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("oversized identity: %v", err)
	}
	if err := validIdentity("a\x00b"); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("identity with a NUL: %v", err)
	}
}

// A candidate's node holds its identity alone (as Curator's) or, with a
// campaign value, identity NUL value; a proclaimed value for the leader
// replaces the campaign value, and an empty one withdraws both.
func TestCampaignValue(t *testing.T) {
	const leader = "_c_x-latch-0000000001"
	for _, c := range []struct {
		id      string
		value   []byte
		data    string
		dirData string
		want    []byte
	}{
		{"host-a", nil, "host-a", "", nil},
		{"host-a", []byte{}, "host-a", "", nil},
		{"host-a", []byte("10.0.0.1:80"), "host-a\x0010.0.0.1:80", "", []byte("10.0.0.1:80")},
		{"host-a", []byte("a\x00b"), "host-a\x00a\x00b", "", []byte("a\x00b")},
		{"host-a", []byte("v1"), "host-a\x00v1", leader + "\x00v2", []byte("v2")},
		{"host-a", []byte("v1"), "host-a\x00v1", leader + "\x00", nil},
		{"host-a", []byte("v1"), "host-a\x00v1", "_c_y-latch-0000000000\x00old", []byte("v1")},
		{"", []byte("v"), "\x00v", "", []byte("v")},
	} {
		data := nodeData(c.id, c.value)
		if string(data) != c.data {
			t.Errorf("nodeData(%q, %q) = %q, want %q", c.id, c.value, data, c.data)
		}
		id, v := splitNode(data)
		if id != c.id || (len(c.value) > 0) != (v != nil) || !bytes.Equal(v, c.value) {
			t.Errorf("splitNode(%q) = %q, %q", data, id, v)
		}
		if got := leaderValue(leader, data, []byte(c.dirData)); !bytes.Equal(got, c.want) || (c.want == nil) != (got == nil) {
			t.Errorf("leaderValue(%q, %q) = %q, want %q", data, c.dirData, got, c.want)
		}
	}
}

func FuzzProclaimedValue(f *testing.F) {
	f.Add("_c_a-latch-0000000001", []byte("addr"))
	f.Add("n", []byte{})
	f.Fuzz(func(t *testing.T, node string, value []byte) {
		if strings.IndexByte(node, sep) >= 0 {
			return // node names never hold a NUL
		}
		got, ok := valueOf(encode(node, value), node)
		if !ok || !bytes.Equal(got, value) {
			t.Fatalf("round trip of %q for %q gave %q", value, node, got)
		}
	})
}
