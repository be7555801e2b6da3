package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
)

// The operations below are go-zookeeper's, made to honour a context and the
// epoch: they return when the answer arrives, the context ends, or the epoch
// ends, whichever is first. An abandoned request still runs to its end in
// the background (the epoch's shutdown reaps it): its outcome is unknown to
// the caller, as after a connection loss. Paths are relative to the chroot.
// Errors wrap go-zookeeper's (errors.Is(err, zk.ErrNoNode) works), the
// context's, or the epoch's cause.

// Get reads a node's data.
func (e *Epoch) Get(ctx context.Context, path string) ([]byte, *zk.Stat, error) {
	type r struct {
		data []byte
		stat *zk.Stat
	}
	v, err := call(ctx, e, "get", path, func(c *zk.Conn) (r, error) {
		d, s, err := c.Get(e.abs(path))
		return r{d, s}, err
	})
	return v.data, v.stat, err
}

// GetW reads a node's data and leaves a watch on it. Unlike an exists
// watch, nothing is left behind when the node does not exist.
func (e *Epoch) GetW(ctx context.Context, path string) ([]byte, *zk.Stat, <-chan zk.Event, error) {
	type r struct {
		data []byte
		stat *zk.Stat
		ch   <-chan zk.Event
	}
	v, err := call(ctx, e, "get", path, func(c *zk.Conn) (r, error) {
		d, s, ch, err := c.GetW(e.abs(path))
		return r{d, s, ch}, err
	})
	return v.data, v.stat, v.ch, err
}

// Exists reports whether a node exists, without a watch.
func (e *Epoch) Exists(ctx context.Context, path string) (bool, *zk.Stat, error) {
	type r struct {
		ok   bool
		stat *zk.Stat
	}
	v, err := call(ctx, e, "exists", path, func(c *zk.Conn) (r, error) {
		ok, s, err := c.Exists(e.abs(path))
		return r{ok, s}, err
	})
	return v.ok, v.stat, err
}

// GetACL reads a node's ACL.
func (e *Epoch) GetACL(ctx context.Context, path string) ([]zk.ACL, *zk.Stat, error) {
	type r struct {
		acl  []zk.ACL
		stat *zk.Stat
	}
	v, err := call(ctx, e, "getacl", path, func(c *zk.Conn) (r, error) {
		a, s, err := c.GetACL(e.abs(path))
		return r{a, s}, err
	})
	return v.acl, v.stat, err
}

// Children lists a node's children (names, unsorted).
func (e *Epoch) Children(ctx context.Context, path string) ([]string, *zk.Stat, error) {
	type r struct {
		names []string
		stat  *zk.Stat
	}
	v, err := call(ctx, e, "children", path, func(c *zk.Conn) (r, error) {
		n, s, err := c.Children(e.abs(path))
		return r{n, s}, err
	})
	return v.names, v.stat, err
}

// ChildrenW lists a node's children and leaves a watch that fires when
// the set of children changes or the node is deleted.
func (e *Epoch) ChildrenW(ctx context.Context, path string) ([]string, *zk.Stat, <-chan zk.Event, error) {
	type r struct {
		names []string
		stat  *zk.Stat
		ch    <-chan zk.Event
	}
	v, err := call(ctx, e, "children", path, func(c *zk.Conn) (r, error) {
		n, s, ch, err := c.ChildrenW(e.abs(path))
		return r{n, s, ch}, err
	})
	return v.names, v.stat, v.ch, err
}

// Create creates a node and returns its path (with the sequence, if any).
func (e *Epoch) Create(ctx context.Context, path string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	p, _, err := e.CreateZxid(ctx, path, data, flags, acl)
	return p, err
}

// CreateZxid is Create that also returns the new node's czxid, read from
// the reply's header (see czxid.go): 0 when the reply could not be matched
// to the node (the caller then reads the czxid if it needs it).
func (e *Epoch) CreateZxid(ctx context.Context, path string, data []byte, flags int32, acl []zk.ACL) (created string, czxid int64, err error) {
	type r struct {
		path  string
		czxid int64
	}
	v, err := call(ctx, e, "create", path, func(c *zk.Conn) (r, error) {
		p, err := c.Create(e.abs(path), data, flags, acl)
		if err != nil {
			return r{}, err
		}
		return r{e.rel(p), e.wire.czxids.take(p)}, nil
	})
	return v.path, v.czxid, err
}

// CreateAndList creates a node and lists its parent's children in one
// round trip: the listing is queued only once the create has been written,
// so the server, which answers a session's requests in order, lists after
// applying the create. The error is the create's. children is nil when the
// listing could not be paired with the create (a reconnect between them,
// say); the caller then lists on its own.
func (e *Epoch) CreateAndList(ctx context.Context, path string, data []byte, flags int32, acl []zk.ACL) (created string, czxid int64, children []string, stat *zk.Stat, err error) {
	sent, stop := e.wire.awaitSent([]byte(e.abs(path)))
	defer stop()
	type createResult struct {
		path  string
		czxid int64
		err   error
	}
	type listResult struct {
		children []string
		stat     *zk.Stat
		err      error
	}
	creates := make(chan createResult, 1)
	if !e.goRequest(func() {
		p, z, err := e.CreateZxid(ctx, path, data, flags, acl)
		creates <- createResult{p, z, err}
	}) {
		return "", 0, nil, nil, opError("create", path, e.ended())
	}
	select {
	case c := <-creates: // never written: nothing to pair with
		return c.path, c.czxid, nil, nil, c.err
	case <-sent:
	}
	lists := make(chan listResult, 1)
	if !e.goRequest(func() {
		kids, st, err := e.Children(ctx, parentOf(path))
		lists <- listResult{kids, st, err}
	}) {
		c := <-creates
		return c.path, c.czxid, nil, nil, c.err
	}
	c, l := <-creates, <-lists
	if c.err != nil || l.err != nil {
		return c.path, c.czxid, nil, nil, c.err
	}
	return c.path, c.czxid, l.children, l.stat, nil
}

func parentOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

// CreateContainer creates a container node: the server deletes it once its
// last child is gone.
func (e *Epoch) CreateContainer(ctx context.Context, path string, data []byte, acl []zk.ACL) (string, error) {
	return call(ctx, e, "create", path, func(c *zk.Conn) (string, error) {
		p, err := c.CreateContainer(e.abs(path), data, zk.FlagContainer, acl)
		return e.rel(p), err
	})
}

// SendSet starts Set and returns at once, for a write whose answer nobody
// waits for but whose place on the connection matters: sent closes once its
// frame is written (a request queued after that is sent behind it), done
// once the request has ended, answered or not. The outcome is not reported.
func (e *Epoch) SendSet(ctx context.Context, path string, data []byte, version int32) (sent, done <-chan struct{}) {
	abs := e.abs(path)
	// The frame holds the opcode, then the path as a length and its bytes:
	// no other request's frame holds both together.
	needle := make([]byte, 8, 8+len(abs))
	binary.BigEndian.PutUint32(needle[0:4], opSetData)
	binary.BigEndian.PutUint32(needle[4:8], uint32(len(abs)))
	needle = append(needle, abs...)
	written, stop := e.wire.awaitSent(needle)
	finished := make(chan struct{})
	if !e.goRequest(func() {
		defer close(finished)
		defer stop()
		e.Set(ctx, path, data, version)
	}) {
		stop()
		close(finished)
	}
	return written, finished
}

// Set writes a node's data if its version matches (-1: any).
func (e *Epoch) Set(ctx context.Context, path string, data []byte, version int32) (*zk.Stat, error) {
	return call(ctx, e, "set", path, func(c *zk.Conn) (*zk.Stat, error) {
		return c.Set(e.abs(path), data, version)
	})
}

// Delete deletes a node if its version matches (-1: any).
func (e *Epoch) Delete(ctx context.Context, path string, version int32) error {
	_, err := call(ctx, e, "delete", path, func(c *zk.Conn) (struct{}, error) {
		return struct{}{}, c.Delete(e.abs(path), version)
	})
	return err
}

// Sync makes the connected server catch up with the leader, so that reads
// after it see every write committed before it.
func (e *Epoch) Sync(ctx context.Context, path string) error {
	_, err := call(ctx, e, "sync", path, func(c *zk.Conn) (struct{}, error) {
		_, err := c.Sync(e.abs(path))
		return struct{}{}, err
	})
	return err
}

// Multi applies ops (*zk.CreateRequest, *zk.SetDataRequest,
// *zk.DeleteRequest, *zk.CheckVersionRequest) all or none. The ops are not
// modified.
func (e *Epoch) Multi(ctx context.Context, ops ...any) ([]zk.MultiResponse, error) {
	abs := make([]any, len(ops))
	for i, op := range ops {
		switch o := op.(type) {
		case *zk.CreateRequest:
			c := *o
			c.Path = e.abs(c.Path)
			abs[i] = &c
		case *zk.SetDataRequest:
			c := *o
			c.Path = e.abs(c.Path)
			abs[i] = &c
		case *zk.DeleteRequest:
			c := *o
			c.Path = e.abs(c.Path)
			abs[i] = &c
		case *zk.CheckVersionRequest:
			c := *o
			c.Path = e.abs(c.Path)
			abs[i] = &c
		default:
			return nil, fmt.Errorf("zkcoord/session: multi: unsupported operation %T", op)
		}
	}
	return call(ctx, e, "multi", "", func(c *zk.Conn) ([]zk.MultiResponse, error) {
		res, err := c.Multi(abs...)
		for i := range res {
			res[i].String = e.rel(res[i].String)
		}
		return res, err
	})
}

func (e *Epoch) abs(path string) string {
	root := e.m.cfg.Chroot
	switch {
	case root == "":
		return path
	case path == "/":
		return root
	}
	return root + path
}

func (e *Epoch) rel(path string) string {
	root := e.m.cfg.Chroot
	if root == "" || path == "" {
		return path
	}
	if path == root {
		return "/"
	}
	return strings.TrimPrefix(path, root)
}

// call runs f on the epoch's client in a goroutine of its own, since
// go-zookeeper's requests take no context.
func call[T any](ctx context.Context, e *Epoch, op, path string, f func(*zk.Conn) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, opError(op, path, err)
	}
	if err := e.Check(); err != nil {
		return zero, opError(op, path, err)
	}
	// A backlog of requests delays the heartbeat's syncs behind it (the
	// server answers a session in order), and with them the deadline:
	// bound what is in flight, so a busy session never talks itself out
	// of touch with a healthy ensemble.
	select {
	case e.inflight <- struct{}{}:
	case <-ctx.Done():
		return zero, opError(op, path, ctx.Err())
	case <-e.done:
		return zero, opError(op, path, e.ended())
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	if !e.goRequest(func() {
		defer func() { <-e.inflight }()
		v, err := f(e.conn)
		ch <- result{v, err}
	}) {
		<-e.inflight
		return zero, opError(op, path, e.ended())
	}
	select {
	case r := <-ch:
		if e.conn.SessionID() != e.sessionID {
			// go-zookeeper moved on to a new session after ours expired and
			// may have sent this request in it: never let a result from
			// another session pass as ours.
			e.halt(ErrExpired)
			return zero, opError(op, path, ErrExpired)
		}
		return r.v, e.translate(op, path, r.err)
	case <-ctx.Done():
		return zero, opError(op, path, ctx.Err())
	case <-e.done:
		select {
		case r := <-ch:
			return r.v, e.translate(op, path, r.err)
		default:
			return zero, opError(op, path, e.Err())
		}
	}
}

// translate maps the client's transport errors to what the caller can act
// on: the epoch's end, or an outcome that is unknown.
func (e *Epoch) translate(op, path string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, zk.ErrConnectionClosed), errors.Is(err, zk.ErrClosing),
		errors.Is(err, zk.ErrSessionExpired), errors.Is(err, zk.ErrNoServer),
		errors.Is(err, zk.ErrSessionMoved):
		if cause := e.Err(); cause != nil {
			return opError(op, path, cause)
		}
		return opError(op, path, fmt.Errorf("%w (%v)", ErrConnectionLoss, err))
	}
	return opError(op, path, err)
}

// ended is why no request can be made any more: the epoch's cause, which
// is set before its shutdown begins.
func (e *Epoch) ended() error {
	if err := e.Err(); err != nil {
		return err
	}
	return ErrClosed
}

func opError(op, path string, err error) error {
	if path == "" {
		return fmt.Errorf("zkcoord/session: %s: %w", op, err)
	}
	return fmt.Errorf("zkcoord/session: %s %s: %w", op, path, err)
}
