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
		v := valueOf(data, leader)
		if !bytes.Equal(v, c.value) || (len(c.value) == 0) != (v == nil) {
			t.Errorf("valueOf(%q) = %q", data, v)
		}
		// Another leader's value is never this one's.
		if v := valueOf(data, "_c_x-latch-0000000004"); v != nil {
			t.Errorf("value %q credited to another leader", v)
		}
	}
	for _, data := range []string{"", "no separator", "\x00v"} {
		if v := valueOf([]byte(data), leader); v != nil {
			t.Errorf("valueOf(%q) = %q, want none", data, v)
		}
	}
	if err := validIdentity(strings.Repeat("x", recipes.MaxDataLen+1)); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("oversized identity: %v", err)
	}
}

func FuzzProclaimedValue(f *testing.F) {
	f.Add("_c_a-latch-0000000001", []byte("addr"))
	f.Add("n", []byte{})
	f.Fuzz(func(t *testing.T, node string, value []byte) {
		if strings.IndexByte(node, sep) >= 0 {
			return // node names never hold a NUL
		}
		got := valueOf(encode(node, value), node)
		if !bytes.Equal(got, value) {
			t.Fatalf("round trip of %q for %q gave %q", value, node, got)
		}
	})
}
