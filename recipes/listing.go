package recipes

import (
	"context"
	"sync"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// Contenders of one process that list a queue's directory at the same
// moment share one listing: each needs one sent after it asks (after its
// create was answered, or after the event that woke it), and one listing
// sent after all of them serves them all. Without sharing, n contenders
// joining at once fetch n listings of up to n names each, a traffic that
// grows with n²; shared, a listing goes out only when the one before has
// come back, so their number grows with how long the joining lasts, not
// with how many join. Sharing is per session manager and directory, not per
// Queue: a service may make a Mutex per request.
type lister struct {
	key  listerKey
	refs int // contenders using it; guarded by listersMu

	mu      sync.Mutex
	next    *listing      // not sent yet: whoever asks now may join it
	running chan struct{} // closed when the listing in flight is answered; nil when none is
}

type listerKey struct {
	m   *session.Manager
	dir string
}

var (
	listersMu sync.Mutex
	listers   = map[listerKey]*lister{}
)

// openLister returns the lister of q's directory, and whether the caller
// is the only contender of this process using it.
func (q *Queue) openLister() (l *lister, alone bool) {
	k := listerKey{q.m, q.dir}
	listersMu.Lock()
	defer listersMu.Unlock()
	l = listers[k]
	if l == nil {
		l = &lister{key: k}
		listers[k] = l
	}
	l.refs++
	return l, l.refs == 1
}

func (l *lister) close() {
	listersMu.Lock()
	defer listersMu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(listers, l.key)
	}
}

// listing is one shared listing of a queue's directory, sorted.
type listing struct {
	ep    *session.Epoch
	done  chan struct{}
	queue []Contender
	stat  *zk.Stat
	err   error

	indexOnce sync.Once
	index     map[string]int
}

// listAfter returns a listing of q's directory sent after the call, made in
// ep's session; shared with every caller who asks before it is sent. The
// caller whose call creates it sends it, once the listing before it is
// answered; its ctx ends only its own wait, never the listing others share.
func (l *lister) listAfter(ctx context.Context, q *Queue, ep *session.Epoch) (*listing, error) {
	l.mu.Lock()
	if ls := l.next; ls != nil && ls.ep == ep {
		l.mu.Unlock()
		select {
		case <-ls.done:
			return ls, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ls := &listing{ep: ep, done: make(chan struct{})}
	l.next = ls
	before := l.running
	l.mu.Unlock()

	if before != nil {
		<-before // ends when that listing is answered, or its epoch ends
	}
	l.mu.Lock()
	if l.next == ls {
		l.next = nil
	}
	l.running = ls.done
	l.mu.Unlock()

	children, stat, err := ep.Children(context.WithoutCancel(ctx), q.dir)
	ls.stat, ls.err = stat, err
	if err == nil {
		ls.queue = SortContenders(children, q.markers...)
	}

	l.mu.Lock()
	if l.running == ls.done {
		l.running = nil
	}
	l.mu.Unlock()
	close(ls.done)
	return ls, nil
}

// find returns name's index in the listing, or -1.
func (ls *listing) find(name string) int {
	if len(ls.queue) <= 16 {
		for i, c := range ls.queue {
			if c.Name == name {
				return i
			}
		}
		return -1
	}
	ls.indexOnce.Do(func() {
		ls.index = make(map[string]int, len(ls.queue))
		for i, c := range ls.queue {
			ls.index[c.Name] = i
		}
	})
	if i, ok := ls.index[name]; ok {
		return i
	}
	return -1
}
