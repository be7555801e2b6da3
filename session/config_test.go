package session

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestInvalidConfig(t *testing.T) {
	ok := Config{Servers: []string{"127.0.0.1:2181"}, SessionTimeout: time.Second}
	cases := map[string]func(*Config){
		"no servers":        func(c *Config) { c.Servers = nil },
		"no port":           func(c *Config) { c.Servers = []string{"localhost"} },
		"bad port":          func(c *Config) { c.Servers = []string{"localhost:http"} },
		"port out of range": func(c *Config) { c.Servers = []string{"localhost:70000"} },
		"empty host":        func(c *Config) { c.Servers = []string{":2181"} },
		"one bad of many":   func(c *Config) { c.Servers = []string{"a:1", "b"} },
		"negative timeout":  func(c *Config) { c.SessionTimeout = -time.Second },
		"relative chroot":   func(c *Config) { c.Chroot = "app" },
		"root chroot":       func(c *Config) { c.Chroot = "/" },
		"trailing slash":    func(c *Config) { c.Chroot = "/app/" },
		"dot segment":       func(c *Config) { c.Chroot = "/app/../x" },
		"negative margin":   func(c *Config) { c.SafetyMargin = -1 },
		"auth no scheme":    func(c *Config) { c.Auth = []Auth{{Secret: []byte("u:p")}} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			mutate(&cfg)
			// A cancelled context proves no network call is made: validation
			// must fail first, with its own error.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			m, err := New(ctx, cfg)
			if m != nil || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", m, err)
			}
		})
	}
	if err := ok.validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

// No timeout given: the default, 10s, which is safe at the shipped tickTime.
func TestDefaultSessionTimeout(t *testing.T) {
	c := Config{Servers: []string{"127.0.0.1:2181"}}
	if err := c.validate(); err != nil {
		t.Fatalf("a zero timeout (the default) refused: %v", err)
	}
	if DefaultSessionTimeout != 10*time.Second {
		t.Fatalf("DefaultSessionTimeout %v", DefaultSessionTimeout)
	}
	if err := checkTimeout(DefaultSessionTimeout, 0, ShippedTickTime); err != nil {
		t.Fatalf("the default timeout is unsafe at the shipped tick: %v", err)
	}
}
