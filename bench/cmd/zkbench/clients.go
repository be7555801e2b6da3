package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/session"
)

// env is what every scenario needs to reach the ensemble.
type env struct {
	servers  []string
	root     string        // every node of this run lives below it
	timeout  time.Duration // session timeout asked for by every client
	log      *slog.Logger  // the library's logs: discarded, they are not measured
	trace    *tracer       // every client connection dials through it
	admin    *zk.Conn      // creates every scenario's directories
	progress func(format string, args ...any)
}

var openACL = zk.WorldACL(zk.PermAll)

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// manager opens a zkcoord session on one server only: where a client is
// connected decides whether its writes are forwarded to the leader, so
// every comparison pins both systems to the same servers.
func (e *env) manager(ctx context.Context, server, identity string) (*session.Manager, error) {
	return e.managerVia(ctx, server, identity, e.trace)
}

// managerVia is manager with the session's connections traced by tr
// instead of the run's shared tracer: a tracer of its own lets one session
// be traced while others work concurrently.
func (e *env) managerVia(ctx context.Context, server, identity string, tr *tracer) (*session.Manager, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers:        []string{server},
		SessionTimeout: e.timeout,
		Logger:         e.log,
		Identity:       identity,
		Dialer:         tr.dial,
	})
	if err != nil {
		return nil, fmt.Errorf("zkcoord session on %s: %w", server, err)
	}
	return m, nil
}

// conn opens a go-zookeeper connection on one server and returns once it
// has a session. go-zookeeper's requests wait for a connection forever, so
// the first one is bounded by closing the client.
func (e *env) conn(ctx context.Context, server string) (*zk.Conn, error) {
	c, _, err := zk.Connect([]string{server}, e.timeout,
		zk.WithDialer(e.trace.dial), zk.WithLogger(discardLogger{}), zk.WithLogInfo(false))
	if err != nil {
		return nil, fmt.Errorf("go-zookeeper connect to %s: %w", server, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, c.Close)
	_, _, err = c.Exists("/")
	if !stop() || err != nil {
		c.Close()
		return nil, fmt.Errorf("go-zookeeper session on %s: %w", server, errors.Join(err, ctx.Err()))
	}
	return c, nil
}

// ensurePath creates p and its missing ancestors as persistent nodes.
// Lock directories are made persistent up front so that neither system
// pays for creating its directory inside a measurement, and zkcoord's
// container directories are not reaped by the server between two
// iterations.
func ensurePath(c *zk.Conn, p string) error {
	cur := ""
	for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		cur += "/" + seg
		if _, err := c.Create(cur, nil, 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", cur, err)
		}
	}
	return nil
}

// deleteTree removes p and everything below it, so that a run against an
// external ensemble (ZK_SERVERS) leaves nothing behind.
func deleteTree(c *zk.Conn, p string) error {
	children, _, err := c.Children(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ch := range children {
		if err := deleteTree(c, p+"/"+ch); err != nil {
			return err
		}
	}
	if err := c.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	return nil
}

// locker is one contender's handle on a lock, so that every scenario
// drives both systems with the same code.
type locker interface {
	// lock waits for the lock and returns how to release it.
	lock(ctx context.Context) (unlock func(context.Context) error, err error)
	// list lists the lock's directory through the contender's own session.
	list(ctx context.Context) ([]string, error)
}

// system is one lock implementation under test, with its sessions.
type system struct {
	key, name string
	// newLocker returns a contender on session s (an index into the
	// system's sessions) for the lock at dir. Nil for a peer's.
	newLocker func(s int, dir string) (locker, error)
	sessions  int
	// A peer's system runs in the peer's process: kind is the recipe the
	// driver runs (mutex, sem, handoff, failover), on its session group.
	peer    *peer
	kind    string
	group   string
	permits int
}

// peerSystem is a recipe of a peer, run by its driver on a group of its
// sessions.
func peerSystem(p *peer, key, name, kind, group string, sessions, permits int) system {
	return system{key: key, name: name, sessions: sessions, peer: p, kind: kind, group: group, permits: permits}
}

func zkcoordSystem(ms []*session.Manager) system {
	return system{key: "zkcoord", name: "zkcoord mutex", sessions: len(ms),
		newLocker: func(s int, dir string) (locker, error) {
			mu, err := mutex.New(ms[s], dir)
			if err != nil {
				return nil, err
			}
			return &zkcoordLocker{m: ms[s], mu: mu, dir: dir}, nil
		}}
}

func zkLockSystem(cs []*zk.Conn) system {
	return system{key: "zklock", name: "go-zookeeper zk.Lock", sessions: len(cs),
		newLocker: func(s int, dir string) (locker, error) {
			return &zkLocker{c: cs[s], l: zk.NewLock(cs[s], dir, openACL), dir: dir}, nil
		}}
}

// electionSystem is zkcoord's leader election driven as a lock: lock is
// Campaign, unlock Resign, so that the handoff chain measures failover.
func electionSystem(ms []*session.Manager) system {
	return system{key: "zkcoord", name: "zkcoord election", sessions: len(ms),
		newLocker: func(s int, dir string) (locker, error) {
			el, err := election.New(ms[s], dir)
			if err != nil {
				return nil, err
			}
			return &electionLocker{m: ms[s], el: el, dir: dir}, nil
		}}
}

type electionLocker struct {
	m   *session.Manager
	el  *election.Election
	dir string
}

func (z *electionLocker) lock(ctx context.Context) (func(context.Context) error, error) {
	l, err := z.el.Campaign(ctx)
	if err != nil {
		return nil, err
	}
	return l.Resign, nil
}

func (z *electionLocker) list(ctx context.Context) ([]string, error) {
	ep, err := z.m.Epoch(ctx)
	if err != nil {
		return nil, err
	}
	names, _, err := ep.Children(ctx, z.dir)
	return names, err
}

type zkcoordLocker struct {
	m   *session.Manager
	mu  *mutex.Mutex
	dir string
}

func (z *zkcoordLocker) lock(ctx context.Context) (func(context.Context) error, error) {
	l, err := z.mu.Lock(ctx)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

func (z *zkcoordLocker) list(ctx context.Context) ([]string, error) {
	ep, err := z.m.Epoch(ctx)
	if err != nil {
		return nil, err
	}
	names, _, err := ep.Children(ctx, z.dir)
	return names, err
}

// zkLocker adapts zk.Lock, whose calls take no context: a stuck Lock is
// ended only by closing its connection, which the harness does on failure.
// Several zk.Lock values may share one *zk.Conn: each keeps its own node
// path, and watches on different paths do not interfere.
type zkLocker struct {
	c   *zk.Conn
	l   *zk.Lock
	dir string
}

func (z *zkLocker) lock(context.Context) (func(context.Context) error, error) {
	if err := z.l.Lock(); err != nil {
		return nil, err
	}
	return func(context.Context) error { return z.l.Unlock() }, nil
}

func (z *zkLocker) list(context.Context) ([]string, error) {
	names, _, err := z.c.Children(z.dir)
	return names, err
}

// pool is a set of sessions of each system, spread round-robin over the
// servers in the same way, for the scenarios with many clients.
type pool struct {
	managers []*session.Manager
	conns    []*zk.Conn
}

func (e *env) openPool(ctx context.Context, n int) (*pool, error) {
	p := &pool{}
	for i := range n {
		srv := e.servers[i%len(e.servers)]
		m, err := e.manager(ctx, srv, fmt.Sprintf("zkbench/%d", i))
		if err != nil {
			p.close()
			return nil, err
		}
		p.managers = append(p.managers, m)
		c, err := e.conn(ctx, srv)
		if err != nil {
			p.close()
			return nil, err
		}
		p.conns = append(p.conns, c)
	}
	return p, nil
}

func (p *pool) systems() []system {
	return []system{zkcoordSystem(p.managers), zkLockSystem(p.conns)}
}

func (p *pool) close() {
	for _, m := range p.managers {
		m.Close()
	}
	for _, c := range p.conns {
		c.Close()
	}
}
