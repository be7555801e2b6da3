package election

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/zkcoord/zkcoord/recipes"
)

func TestNodeData(t *testing.T) {
	for _, c := range []struct {
		id    string
		value []byte
		data  string
	}{
		{"svc-a", nil, "svc-a"},
		{"svc-a", []byte{}, "svc-a"},
		{"svc-a", []byte("10.0.0.1:80"), "svc-a\x0010.0.0.1:80"},
		{"", []byte("v"), "\x00v"},
		{"svc-a", []byte("a\x00b"), "svc-a\x00a\x00b"}, // a value may hold NULs
	} {
		if got := string(encode(c.id, c.value)); got != c.data {
			t.Errorf("encode(%q, %q) = %q, want %q", c.id, c.value, got, c.data)
		}
		id, v := decode([]byte(c.data))
		if id != c.id || !bytes.Equal(v, c.value) || (len(c.value) == 0) != (v == nil) {
			t.Errorf("decode(%q) = %q, %q", c.data, id, v)
		}
	}
	// Written by a peer: an id with a trailing NUL has no value.
	if id, v := decode([]byte("java-1\x00")); id != "java-1" || v != nil {
		t.Errorf("trailing NUL: %q %q", id, v)
	}
	if err := validIdentity("a\x00b"); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("identity with NUL: %v", err)
	}
	if err := validIdentity(strings.Repeat("x", recipes.MaxDataLen+1)); !errors.Is(err, recipes.ErrInvalidArgument) {
		t.Errorf("oversized identity: %v", err)
	}
}

func FuzzNodeData(f *testing.F) {
	f.Add("svc", []byte("addr"))
	f.Add("", []byte{})
	f.Fuzz(func(t *testing.T, id string, value []byte) {
		if validIdentity(id) != nil {
			return
		}
		gotID, gotValue := decode(encode(id, value))
		if gotID != id || !bytes.Equal(gotValue, value) {
			t.Fatalf("round trip of %q, %q gave %q, %q", id, value, gotID, gotValue)
		}
	})
}
