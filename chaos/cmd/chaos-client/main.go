// Command chaos-client is one contender of the chaos suite: a separate
// process with one session manager, contending for one mutex and one
// election at once, writing to the fenced and the unfenced register while
// it holds either, and reporting everything it does as JSON lines on
// stdout, stamped on the shared clock (CLOCK_MONOTONIC, see
// chaos/internal/proto). The library's own logs go to stderr.
//
// Per acquisition it reports: acquired (time, token, the lease's safe
// deadline), every register operation (call and return times, outcome, the
// deadline at that moment), then releasing (the instant it stops acting)
// and released, or lost (when it noticed, and the deadline). After a loss
// it keeps writing with its old token a few times, as a paused process
// that wakes up late would: fencing must refuse those writes once a newer
// holder has written.
//
// It exits cleanly, releasing what it holds and closing its session, on
// SIGTERM or SIGINT.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/zkcoord/zkcoord/chaos/internal/proto"
	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/session"
)

type config struct {
	id               int
	servers          []string
	fenced, unfenced string
	timeout, margin  time.Duration
	mutexPath        string
	electionPath     string
	holdMin, holdMax time.Duration
	writeEvery       time.Duration
	zombies          int
	seed             uint64
}

func main() {
	var cfg config
	var servers string
	flag.IntVar(&cfg.id, "id", 0, "client number")
	flag.StringVar(&servers, "servers", "", "ZooKeeper servers (this client's link proxies), comma-separated")
	flag.StringVar(&cfg.fenced, "fenced", "", "fenced register address")
	flag.StringVar(&cfg.unfenced, "unfenced", "", "unfenced register address")
	flag.DurationVar(&cfg.timeout, "session-timeout", 2*time.Second, "ZooKeeper session timeout")
	flag.DurationVar(&cfg.margin, "margin", 0, "session.Config.SafetyMargin (0: the library's default)")
	flag.StringVar(&cfg.mutexPath, "mutex", "/chaos/mutex", "mutex path")
	flag.StringVar(&cfg.electionPath, "election", "", "election path (empty: no election)")
	flag.DurationVar(&cfg.holdMin, "hold-min", 300*time.Millisecond, "shortest hold")
	flag.DurationVar(&cfg.holdMax, "hold-max", 1500*time.Millisecond, "longest hold")
	flag.DurationVar(&cfg.writeEvery, "write-every", 120*time.Millisecond, "spacing of writes while holding")
	flag.IntVar(&cfg.zombies, "zombies", 3, "writes with the old token after a loss")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed for hold times")
	flag.Parse()
	cfg.servers = strings.Split(servers, ",")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "chaos-client:", err)
		os.Exit(1)
	}
}

// emitter writes events to stdout, one Write per line, so that a reader
// never sees half a line from a process that was stopped mid-way.
type emitter struct {
	mu  sync.Mutex
	id  int
	enc *json.Encoder
}

func (e *emitter) emit(ev proto.Event) {
	ev.Client = e.id
	if ev.T == 0 {
		ev.T = proto.Now()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.enc.Encode(ev); err != nil {
		// The harness is gone: nothing left to report to.
		os.Exit(3)
	}
}

func run(ctx context.Context, cfg config) error {
	out := &emitter{id: cfg.id, enc: json.NewEncoder(os.Stdout)}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).
		With("client", cfg.id)

	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	m, err := session.New(startCtx, session.Config{
		Servers:        cfg.servers,
		SessionTimeout: cfg.timeout,
		SafetyMargin:   cfg.margin,
		Logger:         log,
		Identity:       fmt.Sprintf("chaos-client-%d", cfg.id),
		// Faults end sessions often; the default backoff grows to 10s,
		// which would leave a healed client idle longer than the progress
		// check allows. Capped at 400ms, jittered.
		Backoff: func() backoff.BackOff {
			b := backoff.NewExponentialBackOff()
			b.InitialInterval = 50 * time.Millisecond
			b.MaxInterval = 400 * time.Millisecond
			b.RandomizationFactor = 0.5
			b.MaxElapsedTime = 0
			return b
		},
	})
	cancel()
	if err != nil {
		return err
	}
	reg := newRegistry()
	subCtx, subStop := context.WithCancel(context.Background())
	defer subStop()
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for c := range m.Subscribe(subCtx) {
			ev := proto.Event{Ev: proto.EvSession, T: proto.FromTime(c.At), State: c.State.String()}
			if c.Epoch != nil {
				ev.Epoch, ev.Session = c.Epoch.ID(), c.Epoch.SessionID()
				if c.State == session.Connected {
					reg.add(c.Epoch)
				}
			}
			if c.Err != nil {
				ev.Err, ev.Cause = c.Err.Error(), causeOf(c.Err)
			}
			out.emit(ev)
		}
	}()
	out.emit(proto.Event{Ev: proto.EvStart, Pid: os.Getpid()})

	rng := rand.New(rand.NewPCG(cfg.seed, uint64(cfg.id)))
	var workers []*worker
	mu, err := mutex.New(m, cfg.mutexPath, mutex.WithIdentity(fmt.Sprintf("chaos-client-%d", cfg.id)))
	if err != nil {
		return err
	}
	workers = append(workers, &worker{
		cfg: cfg, key: proto.KeyMutex, m: m, reg: reg, out: out, log: log,
		rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
		acquire: func(ctx context.Context) (holding, error) {
			l, err := mu.Lock(ctx)
			if err != nil {
				return nil, err
			}
			return leaseHolding{l}, nil
		},
	})
	if cfg.electionPath != "" {
		el, err := election.New(m, cfg.electionPath, election.WithIdentity(fmt.Sprintf("chaos-client-%d", cfg.id)))
		if err != nil {
			return err
		}
		workers = append(workers, &worker{
			cfg: cfg, key: proto.KeyElection, m: m, reg: reg, out: out, log: log,
			rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
			acquire: func(ctx context.Context) (holding, error) {
				l, err := el.Campaign(ctx)
				if err != nil {
					return nil, err
				}
				return leadership{l}, nil
			},
		})
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
	// Close ends the session: the server deletes our nodes at once.
	err = m.Close()
	// The subscription ends once it has delivered Closed; the bound only
	// keeps a library bug from hanging the exit (the harness would report
	// the missing "closed" event).
	t := time.NewTimer(5 * time.Second)
	select {
	case <-subDone:
	case <-t.C:
		subStop()
		<-subDone
	}
	t.Stop()
	out.emit(proto.Event{Ev: proto.EvExit})
	return err
}

// holding is what the worker needs of a mutex lease or a leadership.
type holding interface {
	Token() int64
	Path() string
	Done() <-chan struct{}
	Err() error
	release(ctx context.Context) error
}

type leaseHolding struct{ *mutex.Lease }

func (h leaseHolding) release(ctx context.Context) error { return h.Unlock(ctx) }

type leadership struct{ *election.Leadership }

func (h leadership) release(ctx context.Context) error { return h.Resign(ctx) }

// registry remembers every epoch the manager established, by session id,
// to find the one a lease belongs to.
type registry struct {
	mu      sync.Mutex
	epochs  map[int64]*session.Epoch
	changed chan struct{}
}

func newRegistry() *registry {
	return &registry{epochs: map[int64]*session.Epoch{}, changed: make(chan struct{})}
}

func (r *registry) add(ep *session.Epoch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epochs[ep.SessionID()] = ep
	close(r.changed)
	r.changed = make(chan struct{})
}

// get waits until the epoch of session id is known, or ctx ends.
func (r *registry) get(ctx context.Context, id int64) *session.Epoch {
	for {
		r.mu.Lock()
		ep, changed := r.epochs[id], r.changed
		r.mu.Unlock()
		if ep != nil {
			return ep
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

type worker struct {
	cfg     config
	key     string
	m       *session.Manager
	reg     *registry
	out     *emitter
	log     *slog.Logger
	rng     *rand.Rand
	acquire func(context.Context) (holding, error)

	regs  [2]*proto.RegClient // fenced, unfenced
	opSeq int
}

func (w *worker) run(ctx context.Context) {
	w.regs[0] = &proto.RegClient{Addr: w.cfg.fenced, Timeout: time.Second}
	w.regs[1] = &proto.RegClient{Addr: w.cfg.unfenced, Timeout: time.Second}
	defer w.regs[0].Close()
	defer w.regs[1].Close()
	for ctx.Err() == nil {
		h, err := w.acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.out.emit(proto.Event{Ev: proto.EvError, Key: w.key, Err: err.Error()})
			// Lock only fails for good on a closed manager or a bad path;
			// anything else is retried after a beat, not in a hot loop.
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			continue
		}
		w.hold(ctx, h)
	}
}

// epochOf finds the session epoch the lease was granted in. A lease does
// not say, and by the time Lock returns the manager may have moved on (the
// epoch ended and a new one was established in between), so it is proved:
// the lease's node is read through the current epoch, and its
// ephemeralOwner names the session. If that read fails (the current epoch
// is already over, or the node is gone, and with it the lease), the
// current epoch is the best guess and the event says so.
func (w *worker) epochOf(ctx context.Context, h holding) (*session.Epoch, bool) {
	cur := w.m.Current()
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ok, st, err := cur.Exists(rctx, h.Path())
	if err != nil || !ok {
		return cur, true
	}
	if st.EphemeralOwner == cur.SessionID() {
		return cur, false
	}
	if ep := w.reg.get(rctx, st.EphemeralOwner); ep != nil {
		return ep, false
	}
	return cur, true
}

func deadline(ep *session.Epoch) int64 { return proto.FromTime(ep.Deadline()) }

func (w *worker) hold(ctx context.Context, h holding) {
	acq := proto.Now()
	tok := h.Token()
	ep, guess := w.epochOf(ctx, h)
	w.out.emit(proto.Event{
		Ev: proto.EvAcquired, T: acq, Key: w.key, Token: tok, Deadline: deadline(ep),
		Epoch: ep.ID(), Session: ep.SessionID(), EpochGuess: guess, Path: h.Path(),
	})
	holdFor := w.cfg.holdMin + time.Duration(w.rng.Int64N(int64(w.cfg.holdMax-w.cfg.holdMin)+1))
	until := acq + int64(holdFor)
	lost := false
	stopping := false
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
loop:
	for {
		// The check a careful holder makes, and all it can make: a process
		// stopped right after it acts on a stale belief.
		if h.Err() != nil {
			lost = true
			break
		}
		w.write(h, tok, ep, false)
		if proto.Now() >= until {
			break
		}
		t.Reset(w.cfg.writeEvery)
		select {
		case <-t.C:
		case <-h.Done():
			lost = h.Err() != nil
			break loop
		case <-ctx.Done():
			stopping = true
			break loop
		}
	}
	if !lost && !stopping && h.Err() == nil {
		w.read(h, tok, ep)
	}
	if !lost && h.Err() == nil {
		w.out.emit(proto.Event{Ev: proto.EvReleasing, Key: w.key, Token: tok, Deadline: deadline(ep)})
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := h.release(rctx)
		cancel()
		ev := proto.Event{Ev: proto.EvReleased, Key: w.key, Token: tok, Deadline: deadline(ep)}
		if err != nil {
			ev.Err = err.Error()
		}
		w.out.emit(ev)
		return
	}
	// Lost: noticed now, whenever it happened.
	w.out.emit(proto.Event{
		Ev: proto.EvLost, Key: w.key, Token: tok, Deadline: deadline(ep),
		Err: errString(h.Err()), Cause: causeOf(h.Err()),
	})
	for i := range w.cfg.zombies {
		if i > 0 {
			t.Reset(50 * time.Millisecond)
			<-t.C
		}
		w.write(h, tok, ep, true)
	}
	// Clean up the node, should it still exist; ErrNotHeld is expected.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	err := h.release(rctx)
	cancel()
	ev := proto.Event{Ev: proto.EvReleased, Key: w.key, Token: tok, Deadline: deadline(ep)}
	if err != nil {
		ev.Err = err.Error()
	}
	w.out.emit(ev)
}

func causeOf(err error) string {
	switch {
	case errors.Is(err, session.ErrSafeDeadline):
		return proto.CauseSafeDeadline
	case errors.Is(err, session.ErrExpired):
		return proto.CauseExpired
	case errors.Is(err, session.ErrClosed):
		return proto.CauseClosed
	}
	return proto.CauseOther
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// write sends the same write to the fenced, then the unfenced register.
func (w *worker) write(h holding, tok int64, ep *session.Epoch, zombie bool) {
	w.opSeq++
	val := fmt.Sprintf("c%d-%s-%d", w.cfg.id, w.key[:1], w.opSeq)
	for i, rc := range w.regs {
		held := h.Err() == nil
		w.do(rc, regName(i), proto.Request{Kind: "w", Client: w.cfg.id, Key: w.key, Token: tok, Value: val}, tok, ep, held, zombie)
	}
}

func (w *worker) read(h holding, tok int64, ep *session.Epoch) {
	for i, rc := range w.regs {
		w.do(rc, regName(i), proto.Request{Kind: "r", Client: w.cfg.id, Key: w.key}, tok, ep, h.Err() == nil, false)
	}
}

func regName(i int) string {
	if i == 0 {
		return proto.RegFenced
	}
	return proto.RegUnfenced
}

func (w *worker) do(rc *proto.RegClient, reg string, req proto.Request, tok int64, ep *session.Epoch, held, zombie bool) {
	w.opSeq++
	req.ID = fmt.Sprintf("c%d%s%d", w.cfg.id, w.key[:1], w.opSeq)
	rep, call, err := rc.Do(req)
	op := &proto.Op{
		ID: req.ID, Reg: reg, Kind: req.Kind, Value: req.Value, Call: call,
		Held: held, Zombie: zombie,
	}
	switch {
	case errors.Is(err, proto.ErrNotSent):
		op.Outcome = proto.OutNotSent
	case err != nil:
		op.Outcome = proto.OutUnknown
	default:
		op.Ret = proto.Now()
		switch {
		case req.Kind == "r":
			op.Outcome, op.ReadTok, op.ReadVal = proto.OutOK, rep.Token, rep.Value
		case rep.Accepted:
			op.Outcome = proto.OutOK
		default:
			op.Outcome = proto.OutRejected
		}
	}
	ev := proto.Event{Ev: proto.EvOp, Key: w.key, Token: tok, Deadline: deadline(ep), Op: op}
	if err != nil {
		ev.Err = err.Error()
	}
	w.out.emit(ev)
}
