package zktest

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
)

// electionHeader builds the initial message of an election connection.
func electionHeader(version, sid int64, addr string) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(version))
	b = binary.BigEndian.AppendUint64(b, uint64(sid))
	b = binary.BigEndian.AppendUint32(b, uint32(len(addr)))
	return append(b, addr...)
}

func TestAdvertise(t *testing.T) {
	const proxy = "127.0.0.1:40001"
	rest := "notification bytes"
	cases := []struct {
		name   string
		in     []byte
		want   []byte
		failed bool
	}{
		{"version 1", electionHeader(-65536, 2, "127.0.0.1:3888"), electionHeader(-65536, 2, proxy), false},
		{"version 2, two addresses", electionHeader(-65535, 3, "10.0.0.1:3888|10.0.0.2:3888"), electionHeader(-65535, 3, proxy), false},
		{"sid alone (before 3.4.6)", binary.BigEndian.AppendUint64(nil, 5), binary.BigEndian.AppendUint64(nil, 5), false},
		{"address too long", electionHeader(-65536, 2, strings.Repeat("x", maxElectionAddr+1))[:20], electionHeader(-65536, 2, strings.Repeat("x", maxElectionAddr+1))[:20], false},
		{"cut short", electionHeader(-65536, 2, "127.0.0.1:3888")[:12], nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := append(append([]byte(nil), tc.in...), rest...)
			if tc.failed {
				in = tc.in
			}
			got, err := io.ReadAll(&rewriter{r: bytes.NewReader(in), rewrite: advertise(proxy)})
			if tc.failed {
				if err == nil {
					t.Fatalf("truncated header rewritten to %q without an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]byte(nil), tc.want...), rest...)
			if !bytes.Equal(got, want) {
				t.Fatalf("rewritten stream\n got %q\nwant %q", got, want)
			}
		})
	}
}
