// Config-reload lets many readers read a configuration kept in two znodes
// while a writer replaces it, without any reader seeing half an update.
//
// The primary and replica database addresses must change together. The
// writer updates them in two separate writes under the write lock (its
// second write comes 20ms after the first), each applied with lease.Guard so
// that it lands only while the lock is held. Readers read both under the
// read lock, together with each other, and check that the two belong to
// the same generation.
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/config-reload
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/session"
)

const (
	dir      = "/examples/config-reload"
	lockPath = dir + "/lock"
	readers  = 4
	updates  = 5
)

var parts = []string{dir + "/primary", dir + "/replica"}

// value is what part holds in generation gen.
func value(part string, gen int) []byte {
	return fmt.Appendf(nil, "%d:db-%s-%d.internal:5432", gen, part[len(dir)+1:], gen)
}

func main() {
	// Ctrl-C or SIGTERM cancels ctx: run returns, and the deferred Close of
	// every session ends it at once. A process killed without Close would
	// hold its locks until the server expires its session.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	harness.Main(ctx, run)
}

func run(ctx context.Context, out io.Writer, servers []string) error {
	say := harness.Printer(out)
	w, err := harness.Connect(ctx, servers, "writer")
	if err != nil {
		return err
	}
	defer w.Close()
	for _, part := range parts { // generation 0, before any reader starts
		if err := harness.Put(ctx, w, part, value(part, 0)); err != nil {
			return err
		}
	}

	var wg sync.WaitGroup
	ready := make(chan error, 2*readers) // nil once a reader has read generation 0; or why it failed
	stop := make(chan struct{})
	errs := make([]error, readers)
	for i := range readers {
		wg.Go(func() {
			if errs[i] = reader(ctx, say, servers, fmt.Sprintf("reader-%d", i+1), ready, stop); errs[i] != nil {
				ready <- errs[i]
			}
		})
	}
	for i := 0; i < readers && err == nil; i++ { // the writer starts once every reader has read
		select {
		case err = <-ready:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err == nil {
		err = write(ctx, say, w)
	}
	close(stop)
	wg.Wait()
	if rerr := errors.Join(errs...); rerr != nil {
		return rerr
	}
	return err
}

func write(ctx context.Context, say func(string, ...any), m *session.Manager) error {
	lock, err := rwlock.New(m, lockPath)
	if err != nil {
		return err
	}
	for gen := 1; gen <= updates; gen++ {
		lease, err := lock.Lock(ctx)
		if err != nil {
			return err
		}
		for i, part := range parts {
			if i > 0 {
				time.Sleep(20 * time.Millisecond) // a slow writer: readers would see half an update
			}
			if _, err := lease.Guard(ctx, &zk.SetDataRequest{Path: part, Data: value(part, gen), Version: -1}); err != nil {
				return err
			}
		}
		if err := lease.Unlock(ctx); err != nil {
			return err
		}
		say("writer: generation %d written (token %d)", gen, lease.Token())
	}
	return nil
}

func reader(ctx context.Context, say func(string, ...any), servers []string, name string, ready chan<- error, stop <-chan struct{}) error {
	m, err := harness.Connect(ctx, servers, name)
	if err != nil {
		return err
	}
	defer m.Close()
	lock, err := rwlock.New(m, lockPath)
	if err != nil {
		return err
	}
	reads, torn, seen := 0, 0, map[string]bool{}
	for last := false; !last; {
		select {
		case <-stop:
			last = true // one more read: it must see the final generation
		default:
		}
		lease, err := lock.RLock(ctx)
		if err != nil {
			return err
		}
		gens, err := readConfig(ctx, m)
		if rerr := lease.RUnlock(ctx); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if reads++; reads == 1 {
			ready <- nil
		}
		if gens[0] != gens[1] {
			torn++
			say("%s: TORN: primary at generation %s, replica at %s", name, gens[0], gens[1])
		}
		seen[gens[0]] = true
		if last {
			say("%s: %d reads, %d generations seen, last %s, %d torn", name, reads, len(seen), gens[0], torn)
		}
	}
	return nil
}

// readConfig returns the generation of each part.
func readConfig(ctx context.Context, m *session.Manager) ([]string, error) {
	ep, err := m.Epoch(ctx)
	if err != nil {
		return nil, err
	}
	var gens []string
	for _, part := range parts {
		data, _, err := ep.Get(ctx, part)
		if err != nil {
			return nil, err
		}
		gen, _, _ := strings.Cut(string(data), ":")
		gens = append(gens, gen)
	}
	return gens, nil
}
