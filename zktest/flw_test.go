package zktest

import (
	"reflect"
	"testing"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]string{
		"Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nMode: follower\nNode count: 5\n": "follower",
		"Mode: leader\n":   "leader",
		"Mode: standalone": "standalone",
		"This ZooKeeper instance is not currently serving requests\n": "",
		"": "",
	} {
		if got := parseMode(in); got != want {
			t.Errorf("parseMode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseWchc(t *testing.T) {
	out := "0x100000a3b2c0000\n\t/a\n\t/a/b\n0x200000a3b2c0001\n\t/c\n0x300000000000002\n\n"
	got, err := parseWchc(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]string{
		0x100000a3b2c0000: {"/a", "/a/b"},
		0x200000a3b2c0001: {"/c"},
		0x300000000000002: nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseWchc = %#v, want %#v", got, want)
	}
	for _, bad := range []string{"\t/orphan\n", "wchc is not executed because it is not in the whitelist.\n", "0xZZ\n"} {
		if _, err := parseWchc(bad); err == nil {
			t.Errorf("parseWchc(%q) succeeded", bad)
		}
	}
	if w, err := parseWchc(""); err != nil || len(w) != 0 {
		t.Errorf("parseWchc(\"\") = %v, %v; want empty", w, err)
	}
}

func TestUnder(t *testing.T) {
	for _, c := range []struct {
		p, prefix string
		want      bool
	}{
		{"/a", "/a", true},
		{"/a/b", "/a", true},
		{"/a/b", "/a/", true},
		{"/ab", "/a", false},
		{"/x", "/", true},
		{"/", "/a", false},
	} {
		if got := under(c.p, c.prefix); got != c.want {
			t.Errorf("under(%q, %q) = %v", c.p, c.prefix, got)
		}
	}
}
