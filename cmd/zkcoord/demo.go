package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/fence"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

func demoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Fair mutex with fencing tokens, the fencing scenario, a server failover, election failover and a semaphore, on a local ensemble",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			return runDemo(ctx, cmd.OutOrStdout())
		},
	}
}

type demo struct {
	out     io.Writer
	cluster *zktest.Cluster
	start   time.Time
	mu      sync.Mutex // workers say things from their own goroutines
}

func (d *demo) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, "%6.2fs  %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

func runDemo(ctx context.Context, out io.Writer) error {
	d := &demo{out: out, start: time.Now()}
	if servers := os.Getenv("ZK_SERVERS"); servers != "" {
		// Links (proxies in this process) still cut our own clients off;
		// only killing a server needs an ensemble of our own.
		fmt.Fprintf(out, "== using the ensemble in ZK_SERVERS (%s) ==\n", servers)
	} else {
		fmt.Fprintln(out, "== starting a local 3-node ZooKeeper ensemble (ZK_SERVERS unset) ==")
	}
	c, err := zktest.New(zktest.Options{Nodes: 3})
	if err != nil {
		return err
	}
	defer c.Stop()
	d.cluster = c
	d.say("ensemble serving at %s", strings.Join(c.Servers(), ","))
	for _, step := range []func(context.Context) error{d.fairMutex, d.fencing, d.failover, d.electionFailover, d.semaphoreCap} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "\n== demo finished ==")
	return nil
}

func (d *demo) session(ctx context.Context, servers []string, timeout time.Duration, identity string) (*session.Manager, error) {
	return session.New(ctx, session.Config{
		Servers: servers, SessionTimeout: timeout, Identity: identity,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// fairMutex: five workers, each with its own session, queue up while a
// sixth holds the lock; they then take it in the order they queued.
func (d *demo) fairMutex(ctx context.Context) error {
	fmt.Fprintln(d.out, "\n== 1. fair mutex: five workers take /demo/payments in the order they queued ==")
	const path = "/demo/payments"
	gate, err := d.session(ctx, d.cluster.Servers(), 8*time.Second, "gatekeeper")
	if err != nil {
		return err
	}
	defer gate.Close()
	gm, _ := mutex.New(gate, path)
	first, err := gm.Lock(ctx)
	if err != nil {
		return err
	}
	d.say("gatekeeper holds the lock, token %d", first.Token())
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("worker-%d", i)
		m, err := d.session(ctx, d.cluster.Servers(), 8*time.Second, name)
		if err != nil {
			return err
		}
		defer m.Close()
		mu, _ := mutex.New(m, path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := mu.Lock(ctx)
			if err != nil {
				errs <- err
				return
			}
			d.say("%s acquired, token %d", name, l.Token())
			errs <- l.Unlock(ctx)
		}()
		// Wait until this worker's node is queued, so the order is known.
		for {
			st, err := gm.Status(ctx)
			if err != nil {
				return err
			}
			if len(st.Waiters) == i {
				d.say("%s queued behind %d contender(s)", name, i)
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	d.say("gatekeeper releases")
	if err := first.Unlock(ctx); err != nil {
		return err
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// store is the protected resource: a SQLite database (in a temporary
// directory) whose writes go through fence, which remembers the highest
// token each resource has accepted and refuses writes that carry a lower
// one, in the same transaction as the write.
type store struct {
	dir   string
	db    *sql.DB
	fence *fence.SQL
}

func openStore(ctx context.Context) (*store, error) {
	dir, err := os.MkdirTemp("", "zkcoord-demo-")
	if err != nil {
		return nil, err
	}
	s := &store{dir: dir}
	if s.db, err = fence.OpenSQLite(filepath.Join(dir, "inventory.db")); err == nil {
		s.fence, err = fence.NewSQL(s.db, fence.SQLite)
	}
	if err == nil {
		err = s.fence.Init(ctx)
	}
	if err == nil {
		_, err = s.db.ExecContext(ctx, "CREATE TABLE inventory (item TEXT PRIMARY KEY, sold_to TEXT)")
	}
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *store) close() {
	if s.db != nil {
		_ = s.db.Close()
	}
	_ = os.RemoveAll(s.dir)
}

// write records the sale of the last item, fenced by the lock's token.
func (s *store) write(ctx context.Context, resource string, token int64, value string) error {
	return s.fence.Do(ctx, resource, token, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO inventory (item, sold_to) VALUES ('last item', ?)
			ON CONFLICT (item) DO UPDATE SET sold_to = excluded.sold_to`, value)
		return err
	})
}

func (s *store) value(ctx context.Context) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT sold_to FROM inventory WHERE item = 'last item'").Scan(&v)
	return v, err
}

// fencing: holder A pauses (here: its link to the ensemble goes silent and
// it stops looking at its lease), its session expires, B acquires and
// writes; A wakes up and writes with its old token, and the store refuses.
func (d *demo) fencing(ctx context.Context) error {
	fmt.Fprintln(d.out, "\n== 2. fencing: a paused holder wakes up late and its stale write is rejected ==")
	const path = "/demo/inventory"
	link := d.cluster.NewLink()
	defer link.Close()
	am, err := d.session(ctx, link.Servers(), 2*time.Second, "holder-A")
	if err != nil {
		return err
	}
	defer am.Close()
	bm, err := d.session(ctx, d.cluster.Servers(), 8*time.Second, "holder-B")
	if err != nil {
		return err
	}
	defer bm.Close()
	amu, _ := mutex.New(am, path)
	bmu, _ := mutex.New(bm, path)
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	d.say("the inventory is a SQLite database; every write is fenced (zkcoord/fence)")

	a, err := amu.Lock(ctx)
	if err != nil {
		return err
	}
	d.say("A holds the lock with token %d and writes: %v", a.Token(), s.write(ctx, path, a.Token(), "A: last item sold"))
	d.say("A pauses (a long GC, a stopped VM); its link goes silent")
	link.Blackhole()
	bGot := make(chan *mutex.Lease, 1)
	go func() {
		l, err := bmu.Lock(ctx)
		if err != nil {
			d.say("B: %v", err)
			close(bGot)
			return
		}
		bGot <- l
	}()
	<-a.Done()
	lossAt := time.Now()
	d.say("A's loss signal fires (%v) — a live A would stop here", a.Err())
	b, ok := <-bGot
	if !ok {
		return errors.New("B never acquired")
	}
	d.say("B acquires %v after A's loss signal, token %d, and writes: %v",
		time.Since(lossAt).Round(time.Millisecond), b.Token(), s.write(ctx, path, b.Token(), "B: last item sold"))
	err = s.write(ctx, path, a.Token(), "A: last item sold (again!)")
	if !errors.Is(err, fence.ErrStale) {
		return fmt.Errorf("the stale write was not refused: %v", err)
	}
	d.say("A resumes, ignores the signal, writes with token %d: refused, stale fencing token (%v)", a.Token(), err)
	value, err := s.value(ctx)
	if err != nil {
		return err
	}
	d.say("the store holds %q: sold once", value)
	link.Heal()
	return b.Unlock(ctx)
}

// failover: the server a session is connected to dies; the session moves
// to another server and its epoch — and every lock it holds — survives.
func (d *demo) failover(ctx context.Context) error {
	fmt.Fprintln(d.out, "\n== 3. session states while the ensemble loses and regains a server ==")
	if d.cluster.External() {
		d.say("skipped: the ensemble in ZK_SERVERS is not ours to kill servers of (unset it to run this step on a local one)")
		return nil
	}
	m, err := d.session(ctx, d.cluster.Servers(), 4*time.Second, "observer")
	if err != nil {
		return err
	}
	defer m.Close()
	subCtx, stop := context.WithCancel(ctx)
	defer stop()
	changes := m.Subscribe(subCtx)
	mu, _ := mutex.New(m, "/demo/deploy")
	l, err := mu.Lock(ctx)
	if err != nil {
		return err
	}
	<-changes // the current state
	ep := m.Current()
	victim := -1
	for i := range d.cluster.Servers() {
		if out, err := d.cluster.FourLetter(i, "cons"); err == nil && strings.Contains(out, fmt.Sprintf("sid=0x%x", ep.SessionID())) {
			victim = i
		}
	}
	if victim < 0 {
		return errors.New("cannot tell which server the session uses")
	}
	d.say("session 0x%x holds /demo/deploy (token %d) through server %d; killing that server", ep.SessionID(), l.Token(), victim)
	if err := d.cluster.Kill(victim); err != nil {
		return err
	}
	for seen := 0; seen < 2; seen++ {
		select {
		case ch := <-changes:
			d.say("state: %s (epoch %d)", ch.State, ch.Epoch.ID())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.say("lock still held: %v", l.Err() == nil)
	if err := d.cluster.Restart(victim); err != nil {
		return err
	}
	d.say("server %d restarted and rejoined", victim)
	return l.Unlock(ctx)
}
