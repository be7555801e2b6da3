package mutex_test

import (
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/zktest"
)

// An observer that blocks holds up neither acquisitions nor any lease's
// loss signal; it gets every event, in order, once it resumes.
func TestBlockingObserverDelaysNothing(t *testing.T) {
	c := zktest.Shared(t)
	dir := dirFor(t)
	ctx := within(t, time.Minute)
	m := manager(t, c.Servers(), healthy)
	unblock := make(chan struct{})
	var resume sync.Once
	defer resume.Do(func() { close(unblock) })
	var mu sync.Mutex
	var events []recipes.Event
	observe := func(e recipes.Event) {
		<-unblock
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	a := newMutex(t, m, dir+"/a", mutex.WithObserver(observe))
	b := newMutex(t, m, dir+"/b", mutex.WithObserver(observe))
	lock := func(mu *mutex.Mutex) *mutex.Lease {
		t.Helper()
		got := make(chan *mutex.Lease, 1)
		go func() {
			l, err := mu.Lock(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- l
		}()
		select {
		case l := <-got:
			if l == nil {
				t.FailNow()
			}
			return l
		case <-time.After(30 * time.Second):
			t.Fatal("Lock waited for a blocked observer")
		}
		return nil
	}
	la, lb := lock(a), lock(b)
	// Both leases hang on the epoch's end: each must be signalled although
	// the observer sits on the events of the first.
	m.Close()
	for _, l := range []*mutex.Lease{la, lb} {
		select {
		case <-l.Done():
		case <-ctx.Done():
			t.Fatal("a lease's loss waited for a blocked observer")
		}
	}
	resume.Do(func() { close(unblock) })
	eventually(t, 10*time.Second, "every event observed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) == 4
	})
	for _, path := range []string{dir + "/a", dir + "/b"} {
		var whats []recipes.What
		for _, e := range events {
			if e.Path == path {
				whats = append(whats, e.What)
			}
		}
		if len(whats) != 2 || whats[0] != recipes.Acquired || whats[1] != recipes.Lost {
			t.Fatalf("events of %s: %v, want acquired then lost", path, whats)
		}
	}
	c.CheckClean(t, dir)
}
