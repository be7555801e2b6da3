package election

import (
	"context"
	"errors"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// watches are the watches an observer has pending in one session; a nil
// channel is a watch not (or no longer) set. A watch that has not fired
// still covers what it watches, so it is kept rather than set again: every
// new watch on a path adds a channel to the client's list for that path,
// which only empties when the watch fires, and a long term with a busy
// queue would otherwise pile them up.
type watches struct {
	dir   <-chan zk.Event // on the directory's children, or the ancestor standing in for it
	value <-chan zk.Event // on the directory's data, where the leader proclaims
}

// look reads the leader, after a sync so that the read is no older than
// what any other client has seen. With w, it also makes sure watches are
// set (recording new ones in w): on the election's directory (or, while that
// is absent, on the nearest ancestor that exists, which sees the path grow
// back), and on the directory's data, which changes when the leader
// proclaims (see data.go).
func (e *Election) look(ctx context.Context, ep *session.Epoch, w *watches) (*Participant, error) {
	dir := e.q.Dir()
	for {
		if err := ep.Sync(ctx, dir); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return nil, err
		}
		setDir := w != nil && w.dir == nil
		children, dw, err := listDir(ctx, ep, dir, setDir)
		if err != nil {
			return nil, err
		}
		if setDir {
			w.dir = dw
		}
		queue := recipes.SortContenders(children, recipes.LatchMarkers()...)
		if len(queue) == 0 {
			return nil, nil
		}
		first := queue[0]
		data, stat, err := ep.Get(ctx, recipes.Join(dir, first.Name))
		if errors.Is(err, zk.ErrNoNode) {
			continue // the leader left while we looked: look again
		}
		if err != nil {
			return nil, err
		}
		var dirData []byte
		if w != nil && w.value == nil {
			var vw <-chan zk.Event
			dirData, _, vw, err = ep.GetW(ctx, dir)
			if err == nil {
				w.value = vw
			}
		} else {
			dirData, _, err = ep.Get(ctx, dir)
		}
		if errors.Is(err, zk.ErrNoNode) {
			continue // emptied and reaped while we looked
		}
		if err != nil {
			return nil, err
		}
		return participant(first, data, stat, dirData), nil
	}
}

func participant(c recipes.Contender, data []byte, stat *zk.Stat, dirData []byte) *Participant {
	identity, _ := splitNode(data)
	return &Participant{
		Participant: recipes.Participant{
			Name: c.Name, Marker: c.Marker, Seq: c.Seq, Identity: identity,
			Since: time.UnixMilli(stat.Ctime), Zxid: stat.Czxid, Session: stat.EphemeralOwner,
		},
		Value: leaderValue(c.Name, data, dirData),
	}
}

// listDir lists dir, an absent dir being empty; with watch, it also leaves
// a watch on its children (see recipes.ChildrenW).
func listDir(ctx context.Context, ep *session.Epoch, dir string, watch bool) ([]string, <-chan zk.Event, error) {
	if watch {
		return recipes.ChildrenW(ctx, ep, dir)
	}
	children, _, err := ep.Children(ctx, dir)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil, nil
	}
	return children, nil, err
}
