package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/zktest"
)

// The czxid a create's reply gives is the node's own, read back from the
// server, for creates racing each other from several sessions (so that
// other writes land between a create and its reply) through every server,
// followers as well as the leader.
func TestCreateZxidIsTheNodesCzxid(t *testing.T) {
	c := zktest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const dir, sessions, creates = "/session-czxid", 3, 100
	var wg sync.WaitGroup
	errs := make(chan error, sessions*creates)
	for s := range sessions {
		m := connect(t, c.Servers()[s%len(c.Servers()):s%len(c.Servers())+1], 4*time.Second)
		ep, err := m.Epoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ep.Create(ctx, dir, nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatal(err)
		}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range creates / 4 {
					p, czxid, err := ep.CreateZxid(ctx, dir+"/n-", []byte("x"), zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll))
					if err != nil {
						errs <- err
						return
					}
					_, st, err := ep.Exists(ctx, p)
					switch {
					case err != nil:
						errs <- err
					case czxid == 0:
						errs <- errors.New(p + ": no czxid from the reply")
					case czxid != st.Czxid:
						errs <- errors.New(p + ": the reply's zxid is not the node's czxid")
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
