package interop_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// sessionTimeout is every test session's, Go's and the drivers': one the
// healthy clients of these tests never come near.
const sessionTimeout = 8 * time.Second

func manager(t testing.TB, c *zktest.Cluster, identity string) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers: c.Servers(), SessionTimeout: sessionTimeout, Logger: testutil.Logger(), Identity: identity,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// startGo is zkcoord as a driver: the same protocol as the child processes,
// served in process through a session manager of its own. Each handle runs
// its commands in order on a goroutine of its own.
func startGo(t testing.TB, c *zktest.Cluster) *peer {
	t.Helper()
	d := &goDriver{m: manager(t, c, "go-driver"), handles: map[string]*goHandle{}}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	p := newPeer("go")
	d.p = p
	ep, err := d.m.Epoch(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.session = ep.SessionID()
	p.deliver = d.dispatch
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			d.cancel()
			d.mu.Lock()
			for _, h := range d.handles {
				close(h.jobs)
			}
			d.handles = nil
			d.mu.Unlock()
			d.wg.Wait()
			d.m.Close()
			p.exit(nil)
		})
	}
	t.Cleanup(p.stop)
	return p
}

type goDriver struct {
	m      *session.Manager
	p      *peer
	ctx    context.Context // ends when the driver stops
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	handles map[string]*goHandle
}

type kind int

const (
	exclusive kind = iota // mutex, writer
	shared                // reader
	lease                 // one permit of a semaphore
)

type goHandle struct {
	name    string
	kind    kind
	max     int // lease only
	acquire func(ctx context.Context) (release func(context.Context) error, err error)
	jobs    chan func() error
	held    func(context.Context) error // the release of the lock held, if any

	leadership *election.Leadership // the term of a latch handle while it leads
}

func (d *goDriver) dispatch(line string) error {
	f := strings.Split(line, " ")
	h := "-"
	if len(f) > 1 {
		h = f[1]
	}
	if err := d.command(f); err != nil {
		d.p.post(fmt.Sprintf("error %s %v", h, err))
	}
	return nil
}

func (d *goDriver) command(f []string) error {
	switch f[0] {
	case "mutex", "read", "write", "sem", "latch":
		return d.add(f)
	}
	if len(f) < 2 {
		return fmt.Errorf("%q needs a handle", f[0])
	}
	d.mu.Lock()
	hd := d.handles[f[1]]
	d.mu.Unlock()
	if hd == nil {
		return fmt.Errorf("no handle %s", f[1])
	}
	ctx := d.ctx
	switch f[0] {
	case "lock":
		hd.jobs <- func() error {
			release, err := hd.acquire(ctx)
			if err != nil {
				return err
			}
			hd.held = release
			d.p.post("locked " + hd.name)
			return nil
		}
	case "unlock":
		hd.jobs <- func() error {
			if hd.held == nil {
				return errors.New("not held")
			}
			release := hd.held
			hd.held = nil
			if err := release(ctx); err != nil {
				return err
			}
			d.p.post("unlocked " + hd.name)
			return nil
		}
	case "proclaim":
		value := f[2]
		hd.jobs <- func() error {
			if hd.leadership == nil {
				return errors.New("not leading")
			}
			if err := hd.leadership.Proclaim(ctx, []byte(value)); err != nil {
				return err
			}
			d.p.post("proclaimed " + hd.name)
			return nil
		}
	case "once":
		root := f[2]
		hd.jobs <- func() error {
			r, err := d.once(ctx, hd, root)
			if err != nil {
				return err
			}
			d.p.post("once " + hd.name + " " + r)
			return nil
		}
	case "loop":
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		root := f[3]
		hd.jobs <- func() error {
			violations, first := 0, ""
			for range n {
				r, err := d.once(ctx, hd, root)
				if err != nil {
					return err
				}
				if r != "ok" {
					if violations++; violations == 1 {
						first = " " + r
					}
				}
			}
			d.p.post(fmt.Sprintf("loop %s %d%s", hd.name, violations, first))
			return nil
		}
	default:
		return fmt.Errorf("unknown command %s", f[0])
	}
	return nil
}

// add makes a handle: "mutex|read|write|latch <h> <path> <data>" or
// "sem <h> <path> <max> <data>". A latch handle's lock campaigns and its
// unlock resigns; "proclaim <h> <value>" publishes value while it leads.
func (d *goDriver) add(f []string) error {
	if len(f) < 4 {
		return fmt.Errorf("%s: too few fields", f[0])
	}
	hd := &goHandle{name: f[1], jobs: make(chan func() error, 16)}
	data := f[len(f)-1]
	switch f[0] {
	case "mutex":
		mu, err := mutex.New(d.m, f[2], mutex.WithIdentity(data))
		if err != nil {
			return err
		}
		hd.kind = exclusive
		hd.acquire = func(ctx context.Context) (func(context.Context) error, error) {
			l, err := mu.Lock(ctx)
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		}
	case "read", "write":
		rw, err := rwlock.New(d.m, f[2], rwlock.WithIdentity(data))
		if err != nil {
			return err
		}
		if f[0] == "read" {
			hd.kind = shared
			hd.acquire = func(ctx context.Context) (func(context.Context) error, error) {
				l, err := rw.RLock(ctx)
				if err != nil {
					return nil, err
				}
				return l.RUnlock, nil
			}
		} else {
			hd.kind = exclusive
			hd.acquire = func(ctx context.Context) (func(context.Context) error, error) {
				l, err := rw.Lock(ctx)
				if err != nil {
					return nil, err
				}
				return l.Unlock, nil
			}
		}
	case "latch":
		// "<identity>@<value>" campaigns with a value (CampaignWith).
		identity, value, _ := strings.Cut(data, "@")
		e, err := election.New(d.m, f[2], election.WithIdentity(identity), election.WithValue([]byte(value)))
		if err != nil {
			return err
		}
		hd.kind = exclusive
		hd.acquire = func(ctx context.Context) (func(context.Context) error, error) {
			l, err := e.Campaign(ctx)
			if err != nil {
				return nil, err
			}
			hd.leadership = l
			return func(ctx context.Context) error {
				hd.leadership = nil
				return l.Resign(ctx)
			}, nil
		}
	case "sem":
		max, err := strconv.Atoi(f[3])
		if err != nil {
			return err
		}
		s, err := semaphore.New(d.m, f[2], max, semaphore.WithIdentity(data))
		if err != nil {
			return err
		}
		hd.kind, hd.max = lease, max
		hd.acquire = func(ctx context.Context) (func(context.Context) error, error) {
			l, err := s.Acquire(ctx, 1)
			if err != nil {
				return nil, err
			}
			return l.Release, nil
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.handles == nil {
		return errors.New("driver stopped")
	}
	if d.handles[hd.name] != nil {
		return fmt.Errorf("handle %s exists", hd.name)
	}
	d.handles[hd.name] = hd
	d.wg.Add(1)
	go d.serve(hd)
	d.p.post("ok " + hd.name)
	return nil
}

// serve runs a handle's commands in order until the driver stops, then
// gives up what the handle holds.
func (d *goDriver) serve(hd *goHandle) {
	defer d.wg.Done()
	for job := range hd.jobs {
		if d.ctx.Err() != nil {
			continue // stopping: drain
		}
		if err := job(); err != nil && d.ctx.Err() == nil {
			d.p.post(fmt.Sprintf("error %s %v", hd.name, err))
		}
	}
	if hd.held != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		hd.held(ctx)
		cancel()
	}
}

// once acquires, runs the critical section and releases.
func (d *goDriver) once(ctx context.Context, hd *goHandle, root string) (string, error) {
	release, err := hd.acquire(ctx)
	if err != nil {
		return "", err
	}
	r, err := d.critical(ctx, hd, root)
	if rerr := release(ctx); err == nil {
		err = rerr
	}
	return r, err
}

// critical is the critical section every driver runs (see
// CuratorDriver.java): it returns "ok" or "violation: ..." when it finds
// another holder where the lock should have kept it out.
func (d *goDriver) critical(ctx context.Context, hd *goHandle, root string) (string, error) {
	ep, err := d.m.Epoch(ctx)
	if err != nil {
		return "", err
	}
	acl := zk.WorldACL(zk.PermAll)
	data := []byte(hd.name)
	switch hd.kind {
	case exclusive:
		excl := root + "/excl"
		if _, err := ep.Create(ctx, excl, data, zk.FlagEphemeral, acl); errors.Is(err, zk.ErrNodeExists) {
			by, _, _ := ep.Get(ctx, excl)
			return fmt.Sprintf("violation: %s exists: held by %s", excl, by), nil
		} else if err != nil {
			return "", err
		}
		defer ep.Delete(context.WithoutCancel(ctx), excl, -1)
		readers, _, err := ep.Children(ctx, root+"/readers")
		if err != nil {
			return "", err
		}
		if len(readers) > 0 {
			return fmt.Sprintf("violation: readers hold: %v", readers), nil
		}
		ok, err := appendLog(ctx, ep, root+"/log", hd.name)
		if err != nil {
			return "", err
		}
		if !ok {
			return "violation: " + root + "/log changed under us", nil
		}
		return "ok", nil
	case shared:
		me, err := ep.Create(ctx, root+"/readers/r-", data, zk.FlagEphemeralSequential, acl)
		if err != nil {
			return "", err
		}
		defer ep.Delete(context.WithoutCancel(ctx), me, -1)
		if ok, _, err := ep.Exists(ctx, root+"/excl"); err != nil {
			return "", err
		} else if ok {
			by, _, _ := ep.Get(ctx, root+"/excl")
			return fmt.Sprintf("violation: a writer holds: %s", by), nil
		}
		return "ok", nil
	case lease:
		me, err := ep.Create(ctx, root+"/holders/h-", data, zk.FlagEphemeralSequential, acl)
		if err != nil {
			return "", err
		}
		defer ep.Delete(context.WithoutCancel(ctx), me, -1)
		holders, _, err := ep.Children(ctx, root+"/holders")
		if err != nil {
			return "", err
		}
		if len(holders) > hd.max {
			return fmt.Sprintf("violation: %d holders of %d: %v", len(holders), hd.max, holders), nil
		}
		for { // holders append concurrently: retry on conflict
			ok, err := appendLog(ctx, ep, root+"/log", hd.name)
			if err != nil {
				return "", err
			}
			if ok {
				return "ok", nil
			}
		}
	}
	return "", fmt.Errorf("kind %d", hd.kind)
}

// appendLog adds " <word>" to the node's data unless someone wrote it since
// we read it, and reports whether it did.
func appendLog(ctx context.Context, ep *session.Epoch, path, word string) (bool, error) {
	old, stat, err := ep.Get(ctx, path)
	if err != nil {
		return false, err
	}
	_, err = ep.Set(ctx, path, append(old, " "+word...), stat.Version)
	if errors.Is(err, zk.ErrBadVersion) {
		return false, nil
	}
	return err == nil, err
}
