package mutex_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Identity data a node cannot carry (over ZooKeeper's 1 MiB packet limit,
// which the server enforces by dropping the connection) is refused with
// ErrInvalidArgument by every recipe's constructor, and nothing is written,
// whether it comes from WithIdentity or from the manager's Config.Identity.
func TestHugeIdentityEveryRecipe(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)

	hugeM := func() *session.Manager {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		hm, err := session.New(cctx, session.Config{
			Servers: c.Servers(), SessionTimeout: healthy, Logger: testutil.Logger(),
			Identity: strings.Repeat("m", 1<<20+1),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { hm.Close() })
		return hm
	}()

	// Each constructor, given a manager and an identity ("" for the
	// manager's own).
	type made struct{ err error }
	recipesUnderTest := []struct {
		name string
		make func(m *session.Manager, path, identity string) made
	}{
		{"mutex", func(m *session.Manager, p, id string) made {
			_, err := mutex.New(m, p, withID(id, mutex.WithIdentity)...)
			return made{err: err}
		}},
		{"rwlock", func(m *session.Manager, p, id string) made {
			_, err := rwlock.New(m, p, withID(id, rwlock.WithIdentity)...)
			return made{err: err}
		}},
		{"semaphore", func(m *session.Manager, p, id string) made {
			_, err := semaphore.New(m, p, 2, withID(id, semaphore.WithIdentity)...)
			return made{err: err}
		}},
		{"election", func(m *session.Manager, p, id string) made {
			_, err := election.New(m, p, withID(id, election.WithIdentity)...)
			return made{err: err}
		}},
	}
	ep, err := m.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	huge := []struct {
		what string
		m    *session.Manager
		id   string
	}{
		{"WithIdentity of MaxDataLen+1 bytes", m, strings.Repeat("x", recipes.MaxDataLen+1)},
		{"WithIdentity of 1 MiB + 1 bytes", m, strings.Repeat("x", 1<<20+1)},
		{"WithIdentity of 16 MiB", m, strings.Repeat("x", 16<<20)},
		{"Config.Identity of 1 MiB + 1 bytes", hugeM, ""},
	}
	for _, r := range recipesUnderTest {
		t.Run(r.name, func(t *testing.T) {
			p := dir + "/" + r.name
			for _, h := range huge {
				got := r.make(h.m, p, h.id)
				if !errors.Is(got.err, recipes.ErrInvalidArgument) {
					t.Errorf("%s: %v; want ErrInvalidArgument", h.what, got.err)
				}
			}
			// At the limit, the constructor is content.
			if got := r.make(m, p, strings.Repeat("x", recipes.MaxDataLen)); got.err != nil {
				t.Errorf("identity of MaxDataLen (%d) bytes: %v", recipes.MaxDataLen, got.err)
			}
			if ok, _, err := ep.Exists(ctx, p); err != nil || ok {
				t.Errorf("%s wrote %s: %v %v", r.name, p, ok, err)
			}
		})
	}
	if ok, _, err := ep.Exists(ctx, dir); err != nil || ok {
		t.Fatalf("something was written under %s: %v %v", dir, ok, err)
	}

	// The limit is right against a real server: an identity of exactly
	// MaxDataLen bytes locks, and inspection reads it back whole.
	full := strings.Repeat("i", recipes.MaxDataLen)
	lock := newMutex(t, m, dir, mutex.WithIdentity(full))
	l, err := lock.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock with a %d-byte identity: %v", len(full), err)
	}
	st, err := lock.Status(ctx)
	if err != nil || st.Holder == nil || st.Holder.Identity != full {
		t.Fatalf("Status with a %d-byte identity: holder %v, err %v", len(full), st.Holder != nil, err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	c.CheckClean(t, dir)
}

func withID[O any](id string, with func(string) O) []O {
	if id == "" {
		return nil
	}
	return []O{with(id)}
}
