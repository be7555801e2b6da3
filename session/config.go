package session

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-zookeeper/zk"
)

// Config says how to reach the ensemble and how to behave when it is out of reach.
type Config struct {
	// Servers is the ensemble, as "host:port" entries. Required.
	Servers []string
	// SessionTimeout is the timeout requested from the server, which may
	// clamp it to [2, 20] × its tickTime. Default: DefaultSessionTimeout (10s).
	SessionTimeout time.Duration
	// Chroot, when set, is an absolute path every recipe path is relative to,
	// so applications sharing an ensemble do not see each other's nodes.
	Chroot string
	// Auth is re-sent on every connection of every session, before any request.
	Auth []Auth
	// Dialer replaces net.DialTimeout, e.g. TLSDialer to reach ZooKeeper's
	// secure client port. The manager wraps each connection it returns.
	Dialer zk.Dialer
	// Logger receives the manager's and the client's logs. Default: slog.Default().
	Logger *slog.Logger
	// Identity is written into recipe nodes so inspection can say who holds
	// what. Default: "<hostname>/<pid>".
	Identity string
	// Backoff spaces new-session attempts after an epoch ends or while the
	// first cannot be established. Default: exponential from 100ms to 10s,
	// ±50% jitter, never giving up. Called once per series of attempts.
	Backoff func() backoff.BackOff
	// SafetyMargin is how long before the leader could expire the session
	// the epoch ends while out of touch. It must be at least the ensemble's
	// tickTime: a leader cut off from its quorum answers its clients for up
	// to a tick and a half after its successor starts counting.
	// Default: a quarter of the negotiated session timeout, and at least
	// the tickTime.
	SafetyMargin time.Duration
	// TickTime is the ensemble's tickTime (zoo.cfg), or a larger value. The
	// safe deadline rests on the leader pinging its followers every half
	// tick. Default: what the servers say (the "conf" four-letter word),
	// else ZooKeeper's shipped value, 2s. New refuses a session timeout too
	// short for it (ErrInvalidConfig), naming the shortest safe one:
	// SafetyMargin + 2.75 × TickTime.
	TickTime time.Duration

	// creditReplies makes every reply credit the deadline, as before
	// leaderProof: a control for tests that show why it is not enough.
	creditReplies bool
}

// Auth is one credential for ZooKeeper's addauth, e.g. {"digest", []byte("user:pass")}.
type Auth struct {
	Scheme string
	Secret []byte
}

func (c Config) validate() error {
	if len(c.Servers) == 0 {
		return fmt.Errorf("%w: no servers", ErrInvalidConfig)
	}
	for _, s := range c.Servers {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return fmt.Errorf("%w: server %q: %v", ErrInvalidConfig, s, err)
		}
		if err := checkHost(host); err != nil {
			return fmt.Errorf("%w: server %q: %v", ErrInvalidConfig, s, err)
		}
		if strings.Contains(port, "/") {
			return fmt.Errorf("%w: server %q: a path after the port: set Config.Chroot instead", ErrInvalidConfig, s)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("%w: server %q: port must be a number in 1..65535", ErrInvalidConfig, s)
		}
	}
	if c.SessionTimeout < 0 {
		return fmt.Errorf("%w: session timeout %v must be > 0 (0: the default, %v)", ErrInvalidConfig, c.SessionTimeout, DefaultSessionTimeout)
	}
	if c.SessionTimeout > time.Duration(1<<31-1)*time.Millisecond {
		return fmt.Errorf("%w: session timeout %v too large", ErrInvalidConfig, c.SessionTimeout)
	}
	if c.SafetyMargin < 0 {
		return fmt.Errorf("%w: safety margin %v must be >= 0", ErrInvalidConfig, c.SafetyMargin)
	}
	if c.TickTime < 0 {
		return fmt.Errorf("%w: tick time %v must be >= 0", ErrInvalidConfig, c.TickTime)
	}
	if c.Chroot != "" {
		if !strings.HasPrefix(c.Chroot, "/") || c.Chroot == "/" || strings.HasSuffix(c.Chroot, "/") ||
			strings.Contains(c.Chroot, "//") || strings.ContainsRune(c.Chroot, 0) {
			return fmt.Errorf("%w: chroot %q must be an absolute path without trailing slash", ErrInvalidConfig, c.Chroot)
		}
		for _, seg := range strings.Split(c.Chroot[1:], "/") {
			if seg == "." || seg == ".." {
				return fmt.Errorf("%w: chroot %q has a relative segment", ErrInvalidConfig, c.Chroot)
			}
		}
	}
	for _, a := range c.Auth {
		if a.Scheme == "" {
			return fmt.Errorf("%w: auth with empty scheme", ErrInvalidConfig)
		}
	}
	return nil
}

// checkHost refuses what no resolver would take: empty names, blanks,
// slashes, control characters, and zones outside an IPv6 literal.
func checkHost(host string) error {
	switch {
	case host == "":
		return fmt.Errorf("empty host")
	case strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' }):
		return fmt.Errorf("host has a blank, a slash or a control character")
	case strings.Contains(host, "%") && !strings.Contains(host, ":"):
		return fmt.Errorf("a zone (%%) belongs only to an IPv6 literal, in brackets")
	}
	return nil
}

// DefaultSessionTimeout is the session timeout asked for when
// Config.SessionTimeout is 0: long enough for a safe deadline at
// ZooKeeper's shipped tickTime (2s; the shortest safe is 7.5s) and to ride
// out GC pauses, short enough that a crashed holder blocks others briefly.
const DefaultSessionTimeout = 10 * time.Second

func defaultBackoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 10 * time.Second
	b.RandomizationFactor = 0.5
	b.Multiplier = 2
	b.MaxElapsedTime = 0
	return b
}
