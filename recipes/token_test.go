package recipes

import (
	"context"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

func czxidOf(t *testing.T, ctx context.Context, ep *session.Epoch, path string) int64 {
	t.Helper()
	ok, st, err := ep.Exists(ctx, path)
	if err != nil || !ok {
		t.Fatalf("exists %s: %v %v", path, ok, err)
	}
	return st.Czxid
}

// markingQueues is n mutex queues on dir that mark their holders, each
// through a session of its own, with each session's epoch.
func markingQueues(t *testing.T, ctx context.Context, c *zktest.Cluster, dir string, n int) ([]*Queue, []*session.Epoch) {
	t.Helper()
	qs, eps := make([]*Queue, n), make([]*session.Epoch, n)
	for i := range n {
		m := manager(t, c)
		q, err := NewQueue(m, dir, nil, MarkerLock)
		if err != nil {
			t.Fatal(err)
		}
		q.MarkHolders()
		qs[i] = q
		if eps[i], err = m.Epoch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return qs, eps
}

func waitChildren(t *testing.T, ctx context.Context, ep *session.Epoch, dir string, n int) {
	t.Helper()
	for {
		kids, _, err := ep.Children(ctx, dir)
		if err == nil && len(kids) == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never had %d children (last %v, %v)", dir, n, kids, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A lease's token is its own node's czxid on every path to a lease: the
// listing behind the create, a wake-up decided by the head's deletion, one
// decided by a marked predecessor's deletion, and the recovery of a create
// whose reply was lost. Each
// holder's token is below the czxid of every contender created after its
// own node, whenever its grant was read: under the directory's pzxid, a
// holder that reads after a later contender's create gets a token at or
// above that contender's, and a server lagging behind the previous holder's
// deletion could hand two holders the same one.
func TestTokensAreOwnCzxidOnEveryPath(t *testing.T) {
	c := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := "/zkcoord-test/recipes/tokens"
	qs, eps := markingQueues(t, ctx, c, dir, 4)
	var tokens []int64
	held := func(l *Lease) {
		t.Helper()
		if got, want := l.Token(), czxidOf(t, ctx, eps[0], l.Path()); got != want {
			t.Fatalf("token %d of %s, want its czxid %d", got, l.Path(), want)
		}
		if k := len(tokens); k > 0 && l.Token() <= tokens[k-1] {
			t.Fatalf("token %d not above the previous holder's %d", l.Token(), tokens[k-1])
		}
		tokens = append(tokens, l.Token())
	}

	// Fast path: nobody ahead.
	first, err := qs[0].Acquire(ctx, MarkerLock, nil, Exclusive, false)
	if err != nil {
		t.Fatal(err)
	}
	held(first)

	// Wake-up path: second waits right behind first, third behind second.
	type result struct {
		l   *Lease
		err error
	}
	second, third := make(chan result, 1), make(chan result, 1)
	go func() { l, err := qs[1].Acquire(ctx, MarkerLock, nil, Exclusive, false); second <- result{l, err} }()
	waitChildren(t, ctx, eps[0], dir, 2)
	go func() { l, err := qs[2].Acquire(ctx, MarkerLock, nil, Exclusive, false); third <- result{l, err} }()
	waitChildren(t, ctx, eps[0], dir, 3)
	kids, _, _ := eps[0].Children(ctx, dir)
	queue := SortContenders(kids, MarkerLock)
	thirdCzxid := czxidOf(t, ctx, eps[0], Join(dir, queue[2].Name))
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-second
	if r.err != nil {
		t.Fatal(r.err)
	}
	held(r.l)
	if r.l.Token() >= thirdCzxid {
		t.Fatalf("woken holder's token %d not below the next contender's czxid %d", r.l.Token(), thirdCzxid)
	}
	// Woken at the head with third behind it, second marks its node.
	for {
		_, st, err := eps[0].Get(ctx, r.l.Path())
		if err != nil {
			t.Fatal(err)
		}
		if st.Version == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("holder %s never marked (version %d)", r.l.Path(), st.Version)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if r.l.n.lists != 0 {
		t.Errorf("second listed %d times after its first listing; the head's deletion decides", r.l.n.lists)
	}
	if err := r.l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r = <-third
	if r.err != nil {
		t.Fatal(r.err)
	}
	held(r.l)
	if r.l.n.lists != 0 {
		t.Errorf("third listed %d times after its first listing; its marked predecessor's deletion decides", r.l.n.lists)
	}

	// Recovery: a create whose reply was lost made our node; a contender
	// queued after it; the node is found by its id and decided on by a
	// listing of its own.
	id := NewProtectedID()
	lostCreate, err := eps[3].Create(ctx, Join(dir, ProtectedPrefix(id)+MarkerLock), nil, zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	later, err := eps[0].Create(ctx, Join(dir, ProtectedPrefix(NewProtectedID())+MarkerLock), nil, zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	n, err := qs[3].recover(ctx, eps[3], id)
	if err != nil || n == nil || n.path() != lostCreate {
		t.Fatalf("recover = %v, %v; want %s", n, err, lostCreate)
	}
	if err := r.l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	n.start = time.Now()
	recovered, err := n.await(ctx, Exclusive, false)
	if err != nil {
		t.Fatal(err)
	}
	held(recovered)
	if laterCzxid := czxidOf(t, ctx, eps[0], later); recovered.Token() >= laterCzxid {
		t.Fatalf("recovered holder's token %d not below the later contender's czxid %d", recovered.Token(), laterCzxid)
	}
	recovered.Release(ctx)
	eps[0].Delete(ctx, later, -1)
	for _, ep := range eps {
		c.CheckClean(t, dir, ep.SessionID())
	}
}
