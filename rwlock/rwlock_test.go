package rwlock_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Eight readers, each with its own session, all hold at once: none
// releases before every one has acquired. A writer then waits for the last
// of them, and a reader that arrives after the writer waits for it.
func TestReadersHoldTogether(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	const readers = 8
	managers := make([]*session.Manager, readers)
	leases := make([]*rwlock.ReadLease, readers)
	var wg sync.WaitGroup
	for i := range readers {
		managers[i] = manager(t, c.Servers(), healthy)
		rw := newRW(t, managers[i], dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := rw.RLock(ctx)
			if err != nil {
				t.Errorf("reader %d: %v", i, err)
				return
			}
			leases[i] = l
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i, l := range leases {
		if l.Err() != nil {
			t.Fatalf("reader %d lost its lease: %v", i, l.Err())
		}
	}
	wm := manager(t, c.Servers(), healthy)
	writer := newRW(t, wm, dir)
	st := queued(t, ctx, writer, readers, 0)
	if st.Writing() || kinds(st.Holders) != strings.Repeat("R", readers) {
		t.Fatalf("holders %s, writing %v", kinds(st.Holders), st.Writing())
	}
	if _, err := writer.TryLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
		t.Fatalf("TryLock while %d readers hold: %v", readers, err)
	}
	// One more reader joins while no writer waits.
	extra := newRW(t, wm, dir)
	el, err := extra.TryRLock(ctx)
	if err != nil {
		t.Fatalf("TryRLock while only readers hold: %v", err)
	}
	if err := el.RUnlock(ctx); err != nil {
		t.Fatal(err)
	}

	got := make(chan *rwlock.WriteLease, 1)
	go func() {
		l, err := writer.Lock(ctx)
		if err != nil {
			t.Errorf("writer: %v", err)
		}
		got <- l
	}()
	queued(t, ctx, writer, readers, 1)
	if _, err := extra.TryRLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
		t.Fatalf("TryRLock while a writer waits: %v", err)
	}
	for i, l := range leases[:readers-1] {
		if err := l.RUnlock(ctx); err != nil {
			t.Fatalf("reader %d: %v", i, err)
		}
	}
	queued(t, ctx, writer, 1, 1)
	select {
	case <-got:
		t.Fatal("writer acquired while a reader held")
	default:
	}
	// Readers holding together have tokens of their own (their nodes'
	// czxids), which a resource can tell apart.
	maxRead, seen := int64(0), map[int64]int{}
	for i, l := range leases {
		if j, dup := seen[l.Token()]; dup {
			t.Fatalf("readers %d and %d hold together with one token %d", j, i, l.Token())
		}
		seen[l.Token()] = i
		maxRead = max(maxRead, l.Token())
	}
	if err := leases[readers-1].RUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	w := <-got
	if w == nil {
		t.FailNow()
	}
	if w.Token() <= maxRead {
		t.Fatalf("writer's token %d not above the readers' (max %d)", w.Token(), maxRead)
	}
	w.Unlock(ctx)
	clean(t, c, dir, append(managers, wm)...)
}

// Eight clients, each with its own session, take the lock in a random mix
// of reads and writes. Counters of current readers and writers prove that
// readers overlap and that a writer never holds with anyone; writers also
// increment a znode with a version check. Tokens are checked against the
// order in which holds began: a writer's token is above every token before
// it and below every token after it.
func TestReadersShareWritersExclude(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	const clients, rounds = 8, 40
	counter := "/" + strings.ReplaceAll(dir[1:], "/", "_") + "-counter"
	admin := manager(t, c.Servers(), healthy)
	ctx := within(t, 2*time.Minute)
	ep, _ := admin.Epoch(ctx)
	if _, err := ep.Create(ctx, counter, []byte("0"), zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	defer ep.Delete(context.Background(), counter, -1)

	type entry struct {
		write bool
		token int64
	}
	var (
		readers, writers  atomic.Int32
		maxReaders        atomic.Int32
		violations        atomic.Int32
		conflicts, writes atomic.Int32
		logMu             sync.Mutex
		log               []entry // holds in the order they began
	)
	record := func(write bool, token int64) {
		logMu.Lock()
		log = append(log, entry{write, token})
		logMu.Unlock()
	}
	managers := make([]*session.Manager, clients)
	var wg sync.WaitGroup
	for i := range clients {
		managers[i] = manager(t, c.Servers(), healthy)
		rw := newRW(t, managers[i], dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), 1))
			for range rounds {
				if rnd.IntN(4) == 0 {
					l, err := rw.Lock(ctx)
					if err != nil {
						t.Errorf("Lock: %v", err)
						return
					}
					if writers.Add(1) != 1 || readers.Load() != 0 {
						violations.Add(1)
					}
					record(true, l.Token())
					ep, _ := managers[i].Epoch(ctx)
					data, stat, err := ep.Get(ctx, counter)
					if err != nil {
						t.Errorf("get: %v", err)
					} else {
						n, _ := strconv.Atoi(string(data))
						if _, err := ep.Set(ctx, counter, []byte(strconv.Itoa(n+1)), stat.Version); err != nil {
							conflicts.Add(1)
						}
					}
					writes.Add(1)
					writers.Add(-1)
					if err := l.Unlock(ctx); err != nil {
						t.Errorf("Unlock: %v", err)
					}
					continue
				}
				l, err := rw.RLock(ctx)
				if err != nil {
					t.Errorf("RLock: %v", err)
					return
				}
				n := readers.Add(1)
				if writers.Load() != 0 {
					violations.Add(1)
				}
				for m := maxReaders.Load(); n > m && !maxReaders.CompareAndSwap(m, n); m = maxReaders.Load() {
				}
				record(false, l.Token())
				time.Sleep(time.Duration(rnd.IntN(3000)) * time.Microsecond) // the reader's work
				readers.Add(-1)
				if err := l.RUnlock(ctx); err != nil {
					t.Errorf("RUnlock: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	data, _, err := ep.Get(ctx, counter)
	if err != nil {
		t.Fatal(err)
	}
	if violations.Load() != 0 || conflicts.Load() != 0 || string(data) != strconv.Itoa(int(writes.Load())) {
		t.Fatalf("%d holds overlapping a writer, %d version conflicts, counter %s after %d writes", violations.Load(), conflicts.Load(), data, writes.Load())
	}
	if maxReaders.Load() < 2 {
		t.Fatalf("readers never held together (max %d at once)", maxReaders.Load())
	}
	// prefix[i] is the highest token of log[:i], suffix[i] the lowest of log[i:].
	prefix := make([]int64, len(log)+1)
	suffix := make([]int64, len(log)+1)
	prefix[0], suffix[len(log)] = -1<<63, 1<<63-1
	for i, e := range log {
		prefix[i+1] = max(prefix[i], e.token)
	}
	for i := len(log) - 1; i >= 0; i-- {
		suffix[i] = min(suffix[i+1], log[i].token)
	}
	for i, e := range log {
		if e.write && !(prefix[i] < e.token && e.token < suffix[i+1]) {
			t.Fatalf("write token %d (hold %d of %d) not strictly between earlier tokens (max %d) and later ones (min %d)", e.token, i, len(log), prefix[i], suffix[i+1])
		}
	}
	t.Logf("%d holds, %d writes, up to %d readers at once", len(log), writes.Load(), maxReaders.Load())
	clean(t, c, dir, append(managers, admin)...)
}

// While a writer holds, nobody else does: the Try forms are refused, and
// blocking readers and writers stay queued until it releases.
func TestWriterExcludesEveryone(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	hm := manager(t, c.Servers(), healthy)
	holder := newRW(t, hm, dir)
	w, err := holder.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	om := manager(t, c.Servers(), healthy)
	other := newRW(t, om, dir)
	if _, err := other.TryRLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
		t.Fatalf("TryRLock while a writer holds: %v", err)
	}
	if _, err := other.TryLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
		t.Fatalf("TryLock while a writer holds: %v", err)
	}
	queued(t, ctx, holder, 1, 0) // the refused Try forms left nothing

	acquired := make(chan string, 3)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i, kind := range []string{"R", "W", "R"} {
		rw := newRW(t, manager(t, c.Servers(), healthy), dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var unlock func(context.Context) error
			if kind == "R" {
				l, err := rw.RLock(ctx)
				if err != nil {
					t.Errorf("%s%d: %v", kind, i, err)
					return
				}
				unlock = l.RUnlock
			} else {
				l, err := rw.Lock(ctx)
				if err != nil {
					t.Errorf("%s%d: %v", kind, i, err)
					return
				}
				unlock = l.Unlock
			}
			acquired <- fmt.Sprintf("%s%d", kind, i)
			<-release
			unlock(ctx)
		}()
		queued(t, ctx, holder, 1, i+1)
	}
	st := queued(t, ctx, holder, 1, 3)
	if !st.Writing() || kinds(st.Waiters) != "RWR" {
		t.Fatalf("holders %s waiters %s", kinds(st.Holders), kinds(st.Waiters))
	}
	select {
	case who := <-acquired:
		t.Fatalf("%s acquired while the writer held", who)
	default:
	}
	if w.Err() != nil {
		t.Fatalf("writer's lease ended: %v", w.Err())
	}
	if err := w.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if who := <-acquired; who != "R0" {
		t.Fatalf("%s acquired first after the writer, want R0", who)
	}
	close(release)
	if a, b := <-acquired, <-acquired; a != "W1" || b != "R2" {
		t.Fatalf("acquired %s then %s, want W1 then R2", a, b)
	}
	wg.Wait()
	clean(t, c, dir, hm, om)
}

// Readers and writers are served in queue order: with R1 R2 W1 R3 R4 W2
// R5 queued, R1 and R2 hold together, W1 waits for both, R3 and R4 wait for
// W1 although no writer held when they arrived, and so on.
func TestFIFOAcrossKinds(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	om := manager(t, c.Servers(), healthy)
	observer := newRW(t, om, dir)
	labels := []string{"R1", "R2", "W1", "R3", "R4", "W2", "R5"}
	acquired := make(chan string, len(labels))
	release := map[string]chan struct{}{}
	var wg sync.WaitGroup
	for i, label := range labels {
		mine := make(chan struct{})
		release[label] = mine
		rw := newRW(t, manager(t, c.Servers(), healthy), dir, rwlock.WithIdentity(label))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var unlock func(context.Context) error
			if label[0] == 'R' {
				l, err := rw.RLock(ctx)
				if err != nil {
					t.Errorf("%s: %v", label, err)
					return
				}
				unlock = l.RUnlock
			} else {
				l, err := rw.Lock(ctx)
				if err != nil {
					t.Errorf("%s: %v", label, err)
					return
				}
				unlock = l.Unlock
			}
			acquired <- label
			<-mine
			if err := unlock(ctx); err != nil {
				t.Errorf("%s: %v", label, err)
			}
		}()
		eventually(t, 10*time.Second, label+" queued", func() bool {
			ps, err := observer.Status(ctx)
			return err == nil && len(ps.Holders)+len(ps.Waiters) == i+1
		})
	}
	// expect reads the next len(want) acquisitions, in any order, and
	// checks the queue then holds exactly them, and waiting the rest.
	expect := func(want []string, waiting []string) {
		t.Helper()
		got := map[string]bool{}
		for range want {
			select {
			case who := <-acquired:
				got[who] = true
			case <-time.After(10 * time.Second):
				t.Fatalf("waiting for %v: only %v acquired", want, got)
			}
		}
		for _, w := range want {
			if !got[w] {
				t.Fatalf("acquired %v, want %v", got, want)
			}
		}
		st, err := observer.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h, w := identities(st.Holders), identities(st.Waiters); h != strings.Join(want, " ") || w != strings.Join(waiting, " ") {
			t.Fatalf("holders [%s] waiters [%s], want [%s] [%s]", h, w, strings.Join(want, " "), strings.Join(waiting, " "))
		}
		select {
		case who := <-acquired:
			t.Fatalf("%s acquired out of turn, with %v", who, want)
		default:
		}
	}
	expect([]string{"R1", "R2"}, labels[2:])
	close(release["R1"])
	// R2 alone holds now; W1 still waits.
	eventually(t, 10*time.Second, "R1 gone", func() bool {
		st, err := observer.Status(ctx)
		return err == nil && identities(st.Holders) == "R2"
	})
	close(release["R2"])
	expect([]string{"W1"}, labels[3:])
	close(release["W1"])
	expect([]string{"R3", "R4"}, labels[5:])
	close(release["R3"])
	close(release["R4"])
	expect([]string{"W2"}, labels[6:])
	close(release["W2"])
	expect([]string{"R5"}, nil)
	close(release["R5"])
	wg.Wait()
	if st, err := observer.Status(ctx); err != nil || len(st.Holders)+len(st.Waiters) != 0 {
		t.Fatalf("queue after every release: %+v %v", st, err)
	}
	clean(t, c, dir, om)
}

func identities(ps []rwlock.Participant) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Identity
	}
	return strings.Join(s, " ")
}

// Readers keep arriving, and holding, while a writer waits: the writer
// still acquires, after the readers that were ahead of it and before every
// reader that arrived after it.
func TestWriterNotStarved(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	const readers, writes = 4, 3
	type acq struct {
		seq int64
		at  time.Time
	}
	var (
		mu      sync.Mutex
		reads   []acq
		inside  atomic.Int32
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		helpers []*session.Manager
	)
	for i := range readers {
		m := manager(t, c.Servers(), healthy)
		helpers = append(helpers, m)
		rw := newRW(t, m, dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l, err := rw.RLock(ctx)
				if err != nil {
					t.Errorf("reader %d: %v", i, err)
					return
				}
				at := time.Now()
				inside.Add(1)
				mu.Lock()
				reads = append(reads, acq{seqOf(l.Path()), at})
				mu.Unlock()
				time.Sleep(20 * time.Millisecond) // the reader's work
				inside.Add(-1)
				if err := l.RUnlock(ctx); err != nil {
					t.Errorf("reader %d: %v", i, err)
					return
				}
			}
		}()
	}
	wm := manager(t, c.Servers(), healthy)
	writer := newRW(t, wm, dir)
	eventually(t, 10*time.Second, "readers overlapping", func() bool {
		st, err := writer.Status(ctx)
		return err == nil && len(st.Holders) >= 2
	})
	for round := range writes {
		mu.Lock()
		before := len(reads)
		mu.Unlock()
		asked := time.Now()
		l, err := writer.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		if n := inside.Load(); n != 0 {
			t.Fatalf("round %d: writer holds with %d readers", round, n)
		}
		seq := seqOf(l.Path())
		mu.Lock()
		during := 0
		for _, r := range reads[before:] {
			if r.at.Before(at) {
				during++
				if r.seq > seq || r.seq < 0 {
					mu.Unlock()
					t.Fatalf("round %d: reader %d, queued after writer %d, acquired before it", round, r.seq, seq)
				}
			}
		}
		mu.Unlock()
		// Each reader has at most one node in the queue: at most that many
		// can be ahead of the writer.
		if during > readers {
			t.Fatalf("round %d: %d readers acquired while the writer waited, more than the %d ahead of it", round, during, readers)
		}
		t.Logf("round %d: writer acquired after %v, %d reader acquisitions while it waited", round, at.Sub(asked).Round(time.Millisecond), during)
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		// The stream resumes before the next writer asks.
		eventually(t, 10*time.Second, "readers overlapping again", func() bool {
			st, err := writer.Status(ctx)
			return err == nil && len(st.Holders) >= 2
		})
	}
	close(stop)
	wg.Wait()
	// Every reader that acquired after a writer asked came after it in the
	// queue, or was ahead of it: checked above. The stream never stopped.
	mu.Lock()
	total := len(reads)
	mu.Unlock()
	t.Logf("%d reader acquisitions in all", total)
	clean(t, c, dir, append(helpers, wm)...)
}
