package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Epoch is one ZooKeeper session. Everything a recipe creates belongs to
// the epoch it was created in; once Done closes, nothing it held is held.
//
// Each epoch has a client connection of its own, so a request issued in one
// session can never be carried out in the next: go-zookeeper would
// otherwise replay queued requests into whatever session it has by then.
type Epoch struct {
	m      *Manager
	id     uint64
	conn   *zk.Conn
	events <-chan zk.Event
	wire   *wire
	hosts  *hostProvider
	inbox  *queue[zk.Event]

	sessionID   int64         // set before established closes
	established chan struct{} // granted, authenticated, usable
	ctx         context.Context
	cancel      context.CancelCauseFunc
	endMu       sync.Mutex
	onEnd       map[uint64]func(error) // nil once ended
	nextOnEnd   uint64
	done        chan struct{}
	doneOnce    sync.Once
	err         error // why done closed; written before done closes
	stop        chan error
	finished    chan struct{} // client shut down, every request goroutine returned
	requests    sync.WaitGroup
	inflight    chan struct{} // a token per request in flight (call)
	reqMu       sync.Mutex
	reqClosed   bool // shutdown waits for requests: no new ones

	mu      sync.Mutex
	resumed chan struct{} // closed and replaced at each reconnect within the epoch
}

// maxInFlight bounds a session's requests in flight: enough to keep the
// connection busy, few enough that a heartbeat queued behind them is
// answered well within the deadline's slack.
const maxInFlight = 16

func newEpoch(m *Manager, id uint64) *Epoch {
	ctx, cancel := context.WithCancelCause(context.Background())
	w := newWire(m.cfg.Dialer)
	w.gap.Store(int64(m.tickTime()))
	w.creditReplies = m.cfg.creditReplies
	return &Epoch{
		ctx:         ctx,
		cancel:      cancel,
		onEnd:       make(map[uint64]func(error)),
		m:           m,
		id:          id,
		wire:        w,
		hosts:       newHostProvider(),
		inbox:       newQueue[zk.Event](),
		established: make(chan struct{}),
		done:        make(chan struct{}),
		stop:        make(chan error, 1),
		inflight:    make(chan struct{}, maxInFlight),
		finished:    make(chan struct{}),
		resumed:     make(chan struct{}),
	}
}

// Resumed closes at the next reconnect within this epoch. go-zookeeper
// re-sends watches after a reconnect but only logs a failure to, so whoever
// waits on a watch must also re-check state when this closes.
func (e *Epoch) Resumed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resumed
}

func (e *Epoch) resume() {
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.resumed)
	e.resumed = make(chan struct{})
}

// Server is the address of the server the epoch's connection is on, or ""
// while disconnected.
func (e *Epoch) Server() string {
	if e.conn.State() != zk.StateHasSession {
		return ""
	}
	return e.conn.Server()
}

// ID numbers the manager's epochs from 1.
func (e *Epoch) ID() uint64 { return e.id }

// SessionID is the ZooKeeper session id, the ephemeralOwner of the epoch's nodes.
func (e *Epoch) SessionID() int64 { return e.sessionID }

// Done closes when the epoch ends: expiry, Close, or the safe deadline.
func (e *Epoch) Done() <-chan struct{} { return e.done }

// Context is cancelled, with the epoch's Err as its cause, in the same call
// that closes Done: before the epoch's connection is closed, so before the
// server can delete the epoch's ephemeral nodes on its account. A context
// derived from it therefore ends before anyone else can take what the
// epoch held, without waiting for a goroutine to notice.
func (e *Epoch) Context() context.Context { return e.ctx }

// OnEnd arranges for f to run with the epoch's Err when the epoch ends, in
// the call that ends it, before Done closes and before the epoch's
// connection is closed: so before the server can delete the epoch's
// ephemeral nodes on its account. A lock's loss signal hangs on it, to fire
// before anyone else can take the lock without waiting for a goroutine to
// be scheduled. f must not block. If the epoch has already ended, f runs
// at once. stop cancels the arrangement and reports whether it did so
// before f ran.
func (e *Epoch) OnEnd(f func(error)) (stop func() bool) {
	e.endMu.Lock()
	if e.onEnd == nil {
		err := e.err // written before end took the map
		e.endMu.Unlock()
		f(err)
		return func() bool { return false }
	}
	id := e.nextOnEnd
	e.nextOnEnd++
	e.onEnd[id] = f
	e.endMu.Unlock()
	return func() bool {
		e.endMu.Lock()
		defer e.endMu.Unlock()
		_, ok := e.onEnd[id]
		delete(e.onEnd, id)
		return ok
	}
}

// Err is nil while the epoch lives, then ErrExpired, ErrSafeDeadline or ErrClosed.
// It is set from the first instant of the end, before the OnEnd hooks run.
func (e *Epoch) Err() error {
	if e.ctx.Err() == nil {
		return nil
	}
	return context.Cause(e.ctx)
}

// Timeout is the session timeout the server granted.
func (e *Epoch) Timeout() time.Duration { return time.Duration(e.wire.timeout.Load()) }

// Deadline is the instant the epoch ends unless the server is heard from
// again: the server's earliest possible expiry less the safety margin.
func (e *Epoch) Deadline() time.Time {
	at, ok := e.wire.deadline(e.m.margin)
	if !ok {
		return time.Time{}
	}
	return e.wire.clock.at(at)
}

// Alive reports whether the epoch still guarantees its nodes: not ended,
// and, on the monotonic clock, not past its deadline even if this process
// was paused and its timers have not fired yet.
func (e *Epoch) Alive() bool {
	select {
	case <-e.done:
		return false
	case <-e.established:
	default:
		return false
	}
	at, ok := e.wire.deadline(e.m.margin)
	if ok && e.wire.now() < int64(at) {
		return true
	}
	// Past the deadline is final, whatever arrives later: a lease that read
	// the clock and saw itself lost must never see itself held again.
	e.halt(ErrSafeDeadline)
	return false
}

// Check returns nil while Alive, else why not.
func (e *Epoch) Check() error {
	if e.Alive() {
		return nil
	}
	if err := e.Err(); err != nil {
		return err
	}
	select {
	case <-e.established:
		return ErrSafeDeadline
	default:
		return ErrNoEpoch
	}
}

func (e *Epoch) end(err error) {
	e.doneOnce.Do(func() {
		e.err = err
		e.cancel(err)
		e.endMu.Lock()
		fs := e.onEnd
		e.onEnd = nil
		e.endMu.Unlock()
		for _, f := range fs {
			f(err)
		}
		close(e.done)
	})
}

// finish ends the epoch from its own goroutine: first the end itself (loss
// signals, Done), then what may block or run user code (logging, which a
// slow handler may hold up, and the state change to subscribers).
func (e *Epoch) finish(live bool, err error) {
	e.end(err)
	if live && err != ErrClosed {
		lastContact := time.Duration(e.wire.now() - e.wire.lastHeard.Load())
		lastReply := time.Duration(e.wire.now() - e.wire.lastReply.Load())
		server := e.conn.Server()
		e.m.logAsync(func(l *slog.Logger) {
			l.Warn("zookeeper session ended", "epoch", e.id,
				"session", fmt.Sprintf("0x%x", e.sessionID), "cause", err,
				"leader_contact_ago", lastContact, "last_reply_ago", lastReply,
				"timeout", e.Timeout(), "server", server)
		})
		e.m.publish(Change{State: Expired, Epoch: e, Err: err})
	}
}

// halt asks the epoch's goroutine to end the epoch with err.
func (e *Epoch) halt(err error) {
	select {
	case e.stop <- err:
	default:
	}
}

// run owns the epoch's state: it turns client events, in order, into
// transitions, and ends the epoch at the safe deadline.
func (e *Epoch) run() {
	e.m.enterEpochGoroutine()
	defer e.m.leaveEpochGoroutine()
	defer close(e.finished)
	defer e.shutdown()

	deadline := time.NewTimer(time.Hour)
	deadline.Stop()
	defer deadline.Stop()
	arm := func() {
		if at, ok := e.wire.deadline(e.m.margin); ok {
			// Go's timers run on a clock that stops while the host is
			// suspended, the deadline's does not (clock.go): look again
			// often enough to notice a resume.
			deadline.Reset(min(time.Duration(int64(at)-e.wire.now()), recheckEvery))
		}
	}
	var (
		live, connected bool
		auth            chan error
		cause           error
	)
	stop := func(err error) {
		if cause == nil {
			cause = err
		}
	}
	for {
		select {
		case <-e.inbox.ready:
			for _, ev := range e.inbox.drain() {
				if ev.Type != zk.EventSession {
					continue
				}
				switch ev.State {
				case zk.StateHasSession:
					switch {
					case !live && auth == nil:
						e.sessionID = e.conn.SessionID()
						auth = make(chan error, 1)
						if !e.goRequest(func() { auth <- e.authenticate() }) {
							stop(ErrClosed)
						}
					case live && e.conn.SessionID() != e.sessionID:
						stop(ErrExpired) // the client moved on to a new session: ours is gone
					case live && !connected:
						connected = true
						e.m.publish(Change{State: Connected, Epoch: e})
						e.resume()
						arm()
					}
				case zk.StateDisconnected:
					if live && connected {
						connected = false
						e.m.publish(Change{State: Suspended, Epoch: e})
					}
				case zk.StateExpired:
					stop(ErrExpired)
				case zk.StateAuthFailed:
					stop(ErrAuthFailed)
				}
			}
		case err := <-auth:
			auth = nil
			if err != nil {
				stop(err)
				break
			}
			if err := e.m.checkTimeout(e.Timeout()); err != nil {
				stop(err)
				break
			}
			live, connected = true, true
			// The control (creditReplies) is the manager as it was: no
			// heartbeat, whose syncs would also hold up the pings behind
			// them at a follower cut off from the leader.
			if !e.wire.creditReplies && !e.goRequest(e.heartbeat) {
				stop(ErrClosed)
				break
			}
			e.hosts.establish()
			close(e.established)
			e.m.publish(Change{State: Connected, Epoch: e})
			arm()
		case <-deadline.C:
			if at, ok := e.wire.deadline(e.m.margin); ok && e.wire.now() >= int64(at) {
				stop(ErrSafeDeadline)
			} else {
				arm()
			}
		case err := <-e.stop:
			stop(err)
		}
		if cause != nil {
			e.finish(live, cause)
			return
		}
	}
}

func (e *Epoch) authenticate() error {
	for _, a := range e.m.cfg.Auth {
		if err := e.conn.AddAuth(a.Scheme, a.Secret); err != nil {
			if errors.Is(err, zk.ErrAuthFailed) {
				return fmt.Errorf("%w: addauth %s: %v", ErrAuthFailed, a.Scheme, err)
			}
			return fmt.Errorf("zkcoord/session: addauth %s: %w (%v)", a.Scheme, ErrConnectionLoss, err)
		}
	}
	return nil
}

// shutdown closes the client (which ends a reachable session at once, so its
// ephemeral nodes go without waiting for expiry) and waits until go-zookeeper's
// goroutines and every request goroutine have returned.
func (e *Epoch) shutdown() {
	e.wire.closing.Store(true)
	e.reqMu.Lock()
	e.reqClosed = true
	e.reqMu.Unlock()
	idle := make(chan struct{})
	go func() {
		e.requests.Wait()
		close(idle)
	}()
	if !settleRequests(idle) {
		quiesce(e.wire, e.conn)
	}
	e.conn.Close() // asks the server to end the session, waiting a second at most
	e.wire.closeAll()
	for range e.events {
	}
	<-idle
}

// goRequest runs f in a goroutine that shutdown waits for, and reports
// true; once shutdown has begun it reports false and f does not run. (A
// WaitGroup's Add must not race with its Wait.)
func (e *Epoch) goRequest(f func()) bool {
	e.reqMu.Lock()
	defer e.reqMu.Unlock()
	if e.reqClosed {
		return false
	}
	e.requests.Add(1)
	go func() {
		defer e.requests.Done()
		f()
	}()
	return true
}
