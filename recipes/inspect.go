package recipes

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/session"
)

// Participant is one contender node as inspection sees it, whoever wrote
// it: zkcoord, Curator or kazoo.
type Participant struct {
	Name     string    // child name
	Marker   string    // its kind
	Seq      int64     // its sequence number
	Identity string    // the node's data: who created it
	Since    time.Time // when it was created (server clock)
	Zxid     int64     // czxid
	Session  int64     // ephemeralOwner
}

// Participants lists the queue in order. Nodes that vanish while being
// read are left out; an absent directory is an empty queue.
//
// The listing is at least as recent as any acquisition or release that
// completed, in any client, before Participants was called: ZooKeeper only
// orders one session's reads after its own writes, and the server this
// session reads from may lag behind the one another client wrote through,
// so the server is first made to catch up with the leader (a sync).
//
// A read cut short by a lost connection or an ended session is made again
// (reads are safe to repeat), in the next session if need be.
func (q *Queue) Participants(ctx context.Context) ([]Participant, error) {
	for {
		ps, err := q.participants(ctx)
		if err == nil || ctx.Err() != nil ||
			!(errors.Is(err, session.ErrConnectionLoss) || errors.Is(err, ErrLost)) {
			return ps, err
		}
	}
}

func (q *Queue) participants(ctx context.Context) ([]Participant, error) {
	ep, err := q.m.Epoch(ctx)
	if err != nil {
		return nil, SessionError(err)
	}
	if err := ep.Sync(ctx, q.dir); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return nil, SessionError(err)
	}
	children, _, err := ep.Children(ctx, q.dir)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, SessionError(err)
	}
	queue := SortContenders(children, q.markers...)
	out := make([]Participant, len(queue))
	found := make([]bool, len(queue))
	errs := make([]error, len(queue))
	var wg sync.WaitGroup
	for i, c := range queue {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, stat, err := ep.Get(ctx, Join(q.dir, c.Name))
			if errors.Is(err, zk.ErrNoNode) {
				return
			}
			if err != nil {
				errs[i] = err
				return
			}
			found[i] = true
			out[i] = Participant{
				Name: c.Name, Marker: c.Marker, Seq: c.Seq, Identity: string(data),
				Since: time.UnixMilli(stat.Ctime), Zxid: stat.Czxid, Session: stat.EphemeralOwner,
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, SessionError(err)
	}
	kept := out[:0]
	for i := range out {
		if found[i] {
			kept = append(kept, out[i])
		}
	}
	return kept, nil
}
