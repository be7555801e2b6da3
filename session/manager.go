package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-zookeeper/zk"
)

// Manager owns one process's ZooKeeper sessions, one epoch at a time, and
// replaces an ended session with a new one until Close. Recipes share it.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	state   State
	epoch   *Epoch
	changed chan struct{} // closed and replaced whenever epoch changes
	subs    map[*subscriber]struct{}
	nextID  uint64
	lastErr error // why the latest attempt at a new session failed; nil after a success
	fatal   error // a configuration the ensemble showed to be unsafe: no session will come

	tick    atomic.Int64               // the ensemble's tickTime (ns), known before the first session
	logs    *queue[func(*slog.Logger)] // logged off the safety path, in order (logLoop)
	epochGs sync.Map                   // ids of the goroutines running epochs, for Close

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // run loop and every epoch goroutine
}

// New validates cfg, then connects and returns once a session is live, or
// with ctx's error. Attempts are spaced by cfg.Backoff until then.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Identity == "" {
		host, _ := os.Hostname()
		cfg.Identity = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if cfg.Backoff == nil {
		cfg.Backoff = defaultBackoff
	}
	if cfg.TickTime > 0 {
		if err := checkTimeout(cfg.SessionTimeout, cfg.SafetyMargin, cfg.TickTime); err != nil {
			return nil, err
		}
	}
	cfg.Servers = append([]string(nil), cfg.Servers...)
	m := &Manager{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "zkcoord/session"),
		changed: make(chan struct{}),
		subs:    make(map[*subscriber]struct{}),
		closing: make(chan struct{}),
		logs:    newQueue[func(*slog.Logger)](),
	}
	m.wg.Add(2)
	go m.logLoop()
	go m.run()
	if _, err := m.Epoch(ctx); err != nil {
		m.mu.Lock()
		last, fatal := m.lastErr, m.fatal
		m.mu.Unlock()
		m.Close()
		if fatal != nil {
			return nil, fatal
		}
		if last != nil && !errors.Is(err, ErrClosed) {
			// Say why no session came, e.g. a certificate a TLS dialer
			// rejected, rather than only that ctx ended; both stay
			// matchable with errors.Is and errors.As.
			err = fmt.Errorf("%w (last attempt: %w)", err, last)
		}
		return nil, err
	}
	return m, nil
}

// Identity is what recipes write into their nodes to say who holds them.
func (m *Manager) Identity() string { return m.cfg.Identity }

// Logger is the manager's logger, for recipes to log with the same handler.
func (m *Manager) Logger() *slog.Logger { return m.cfg.Logger }

// State is the latest state published.
func (m *Manager) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Done closes when Close is called.
func (m *Manager) Done() <-chan struct{} { return m.closing }

// Current is the latest epoch, which may have ended, or nil before the first.
func (m *Manager) Current() *Epoch {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch
}

// Epoch returns a live epoch, waiting for one while the session is being
// re-established. It fails with ErrClosed after Close, or ctx's error.
func (m *Manager) Epoch(ctx context.Context) (*Epoch, error) {
	for {
		m.mu.Lock()
		ep, changed := m.epoch, m.changed
		m.mu.Unlock()
		select {
		case <-m.closing:
			return nil, ErrClosed
		default:
		}
		if ep != nil && ep.Alive() {
			return ep, nil
		}
		// Wait on the epoch's end only while it has not ended: once it has,
		// only the next epoch is worth waking for (its Done stays closed).
		var ended <-chan struct{}
		if ep != nil && ep.Err() == nil {
			ended = ep.Done()
		}
		select {
		case <-changed:
		case <-ended:
		case <-m.closing:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, fmt.Errorf("zkcoord/session: waiting for a session: %w", ctx.Err())
		}
	}
}

// Close ends the session (the server deletes its ephemeral nodes at once if
// it can be reached and answers the requests in flight within a second;
// otherwise they go at expiry) and returns when every goroutine of the
// manager and its client has returned. Subscribers receive Closed. Calling
// it again is a no-op.
//
// Called from code the manager itself runs (an Epoch.OnEnd hook, or a
// recipe's observer run from one), Close does not wait: the goroutine it
// would wait for is the caller's. It returns at once and the manager
// finishes shutting down when the caller returns.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() { close(m.closing) })
	if _, inside := m.epochGs.Load(goid()); inside {
		return nil
	}
	m.wg.Wait()
	return nil
}

func (m *Manager) enterEpochGoroutine() { m.epochGs.Store(goid(), struct{}{}) }
func (m *Manager) leaveEpochGoroutine() { m.epochGs.Delete(goid()) }

// logAsync logs off the caller's path: a handler that blocks delays the
// log, never a session's end or a loss signal.
func (m *Manager) logAsync(f func(*slog.Logger)) { m.logs.push(f) }

// logLoop runs the logging queued by logAsync until Closed is published.
func (m *Manager) logLoop() {
	defer m.wg.Done()
	for range m.logs.ready {
		for _, f := range m.logs.drain() {
			if f == nil {
				return
			}
			f(m.log)
		}
	}
}

func (m *Manager) margin(timeout time.Duration) time.Duration {
	return safetyMargin(timeout, m.cfg.SafetyMargin, m.tickTime())
}

func (m *Manager) tickTime() time.Duration { return time.Duration(m.tick.Load()) }

// checkTimeout refuses a granted session timeout the deadline cannot be
// kept safely in (see checkTimeout in timing.go).
func (m *Manager) checkTimeout(granted time.Duration) error {
	return checkTimeout(granted, m.cfg.SafetyMargin, m.tickTime())
}

func (m *Manager) run() {
	defer m.wg.Done()
	defer m.logs.push(nil) // after the last publish: logLoop returns once it is logged
	m.learnTickTime()
	policy := m.cfg.Backoff()
	policy.Reset()
	attempt := 0
	var last *Epoch
	for {
		attempt++
		m.publish(Change{State: Connecting, Attempt: attempt})
		ep, err := m.attempt()
		m.mu.Lock()
		m.lastErr = err
		m.mu.Unlock()
		if err == nil {
			attempt = 0
			policy.Reset()
			last = ep
			select {
			case <-ep.Done():
				continue // a new session at once; backoff spaces the failures after it
			case <-m.closing:
				ep.halt(ErrClosed)
				<-ep.finished
				m.publish(Change{State: Closed, Epoch: ep, Err: ErrClosed})
				return
			}
		}
		if errors.Is(err, ErrClosed) {
			m.publish(Change{State: Closed, Epoch: last, Err: ErrClosed})
			return
		}
		if errors.Is(err, ErrInvalidConfig) {
			// The ensemble granted a timeout no deadline is safe in: it
			// would grant it again. Say so rather than retry forever.
			m.mu.Lock()
			m.fatal = err
			m.mu.Unlock()
			m.closeOnce.Do(func() { close(m.closing) })
			m.publish(Change{State: Closed, Epoch: last, Err: err})
			return
		}
		wait := policy.NextBackOff()
		if wait == backoff.Stop {
			policy.Reset() // a coordination client never gives up on its own
			wait = policy.NextBackOff()
		}
		n := attempt
		m.logAsync(func(l *slog.Logger) {
			l.Info("no zookeeper session", "attempt", n, "retry_in", wait, "err", err)
		})
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-m.closing:
			t.Stop()
			m.publish(Change{State: Closed, Epoch: last, Err: ErrClosed})
			return
		}
	}
}

// attempt makes one pass over the servers for a new session.
func (m *Manager) attempt() (*Epoch, error) {
	m.mu.Lock()
	m.nextID++
	ep := newEpoch(m, m.nextID)
	m.mu.Unlock()

	conn, events, err := zk.Connect(m.cfg.Servers, m.cfg.SessionTimeout,
		zk.WithDialer(ep.wire.dialer),
		zk.WithHostProvider(ep.hosts),
		zk.WithEventCallback(ep.inbox.push),
		zk.WithLogger(zkLogger{m.log}),
		zk.WithLogInfo(false))
	if err != nil {
		return nil, fmt.Errorf("zkcoord/session: connect: %w", err)
	}
	ep.conn, ep.events = conn, events
	ep.wire.client(conn)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ep.run()
	}()

	// A server that accepts but never answers must not stall the attempt:
	// give it what the server itself would allow for a handshake.
	limit := time.NewTimer(max(m.cfg.SessionTimeout, 2*time.Second))
	defer limit.Stop()
	select {
	case <-ep.established:
		m.mu.Lock()
		m.epoch = ep
		close(m.changed)
		m.changed = make(chan struct{})
		m.mu.Unlock()
		return ep, nil
	case <-ep.hosts.exhausted:
		if err := ep.wire.lastConnErr(); err != nil {
			ep.halt(fmt.Errorf("%w: no server reachable: %w", ErrHandshake, err))
		} else {
			ep.halt(fmt.Errorf("%w: no server reachable", ErrHandshake))
		}
	case <-limit.C:
		if err := ep.wire.lastConnErr(); err != nil {
			ep.halt(fmt.Errorf("%w: handshake timed out; last connection failed: %w", ErrHandshake, err))
		} else {
			ep.halt(fmt.Errorf("%w: handshake timed out", ErrHandshake))
		}
	case <-ep.Done():
	case <-m.closing:
		ep.halt(ErrClosed)
	}
	<-ep.Done()
	return nil, ep.Err()
}

// publish records c as the state and queues it for every subscriber and
// the log; nothing here blocks.
func (m *Manager) publish(c Change) {
	c.At = time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == Closed {
		return
	}
	m.state = c.State
	for s := range m.subs {
		s.q.push(c)
	}
	if c.State != Connecting || c.Attempt == 1 {
		m.logAsync(func(l *slog.Logger) {
			l.Info("session state", "state", c.State.String(), "epoch", epochID(c.Epoch), "err", c.Err)
		})
	}
}

func epochID(e *Epoch) uint64 {
	if e == nil {
		return 0
	}
	return e.id
}
