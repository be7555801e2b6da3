package session_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/session"
)

// Malformed server lists fail New with ErrInvalidConfig, naming the entry,
// before anything is dialled.
func TestMalformedServerLists(t *testing.T) {
	bad := map[string][]string{
		"nil list":              nil,
		"empty list":            {},
		"empty entry":           {""},
		"empty host":            {":2181"},
		"empty brackets":        {"[]:2181"},
		"port 0":                {"127.0.0.1:0"},
		"port 65536":            {"127.0.0.1:65536"},
		"port 99999":            {"127.0.0.1:99999"},
		"negative port":         {"127.0.0.1:-1"},
		"missing port":          {"zk1"},
		"empty port":            {"zk1:"},
		"bracketed, no port":    {"[::1]"},
		"bare IPv6":             {"::1:2181"},
		"named port":            {"zk1:zookeeper"},
		"space before":          {" zk1:2181"},
		"space after":           {"zk1:2181 "},
		"space in host":         {"zk 1:2181"},
		"space before port":     {"zk1: 2181"},
		"space before colon":    {"zk1 :2181"},
		"tab in host":           {"zk1\t:2181"},
		"connect string":        {"zk1:2181,zk2:2181"},
		"chroot in the server":  {"zk1:2181/app"},
		"one bad among good":    {"zk1:2181", "zk2", "zk3:2181"},
		"newline in host":       {"zk1\n:2181"},
		"zone outside brackets": {"zk1%eth0:2181"},
		"signed port":           {"zk1:+2181"},
	}
	for name, servers := range bad {
		t.Run(name, func(t *testing.T) {
			var dials atomic.Int32
			cfg := session.Config{
				Servers: servers, SessionTimeout: time.Second,
				Dialer: func(string, string, time.Duration) (net.Conn, error) {
					dials.Add(1)
					return nil, errors.New("dialled")
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m, err := session.New(ctx, cfg)
			if m != nil {
				m.Close()
			}
			if m != nil || !errors.Is(err, session.ErrInvalidConfig) {
				t.Fatalf("New(%q) = %v, %v; want ErrInvalidConfig", servers, m, err)
			}
			if n := dials.Load(); n != 0 {
				t.Fatalf("dialled %d times before refusing the config", n)
			}
			for _, s := range servers {
				if !validServer(s) && !strings.Contains(err.Error(), quote(s)) {
					t.Errorf("error does not name the bad entry %q: %v", s, err)
				}
			}
		})
	}
	// Well-formed lists get past validation: New then dials (and fails
	// here, since the dialer refuses, until its context ends).
	for _, servers := range [][]string{
		{"127.0.0.1:2181"}, {"[::1]:2181"}, {"zk-1.example.com:1", "zk2:65535"},
	} {
		var dials atomic.Int32
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := session.New(ctx, session.Config{
			Servers: servers, SessionTimeout: time.Second, Logger: testutil.Logger(),
			Dialer: func(string, string, time.Duration) (net.Conn, error) {
				dials.Add(1)
				return nil, errors.New("refused by the test")
			},
		})
		cancel()
		if errors.Is(err, session.ErrInvalidConfig) || dials.Load() == 0 {
			t.Errorf("New(%q): %v after %d dials; want a dial", servers, err, dials.Load())
		}
		if err == nil || !strings.Contains(err.Error(), "refused by the test") {
			t.Errorf("New(%q): %v; want the dial's error reported", servers, err)
		}
	}
}

func validServer(s string) bool { return s == "zk1:2181" || s == "zk3:2181" }

// quote is how the error names an entry (%q).
func quote(s string) string { return strconv.Quote(s) }
