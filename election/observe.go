package election

import (
	"bytes"
	"context"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// Leader returns the current leader, or nil when nobody campaigns. It
// is at least as recent as any election or resignation that completed, in
// any process, before the call: the server is made to catch up first.
//
// The leader is the first candidate in the queue. A candidate whose
// session has just been lost may still be reported for up to a session
// timeout, until the server deletes its node; it knows it no longer leads,
// and nobody else leads meanwhile.
func (e *Election) Leader(ctx context.Context) (*Participant, error) {
	for {
		ep, err := e.q.Manager().Epoch(ctx)
		if err != nil {
			return nil, recipes.SessionError(err)
		}
		p, err := e.look(ctx, ep, nil)
		if err == nil {
			return p, nil
		}
		if !retryable(ctx, ep, err) {
			return nil, recipes.SessionError(err)
		}
	}
}

// Observe reports the leader (nil when there is none) now and after every
// change: another leader, or a new proclaimed value. A reader that falls
// behind is not sent every intermediate state but always gets the latest:
// the channel holds one state, replaced by a newer one while unread. It
// closes when ctx ends or the manager is closed; its goroutine is gone
// then.
//
// While the session is being re-established the last state stands; once
// connected again, the election is read afresh.
func (e *Election) Observe(ctx context.Context) <-chan *Participant {
	out := make(chan *Participant, 1)
	go e.observe(ctx, out)
	return out
}

func (e *Election) observe(ctx context.Context, out chan *Participant) {
	defer close(out)
	var (
		last    *Participant
		sent    bool
		pause   = newPause()
		ep      *session.Epoch
		w       watches
		resumed <-chan struct{}
	)
	for {
		cur, err := e.q.Manager().Epoch(ctx)
		if err != nil {
			return // closed, or ctx ended
		}
		if cur != ep {
			// Watches belong to their session: a new one starts bare.
			ep, w, resumed = cur, watches{}, cur.Resumed()
		}
		p, err := e.look(ctx, ep, &w)
		switch {
		case err == nil:
			pause.reset()
		case ctx.Err() != nil:
			return
		case retryable(ctx, ep, err):
			continue
		default:
			e.q.Manager().Logger().Warn("zkcoord: observing election", "path", e.q.Dir(), "err", err)
			if pause.wait(ctx) != nil {
				return
			}
			continue
		}
		if !sent || !same(last, p) {
			offer(out, p)
			last, sent = clone(p), true
		}
		select {
		case <-w.dir:
			w.dir = nil
		case <-w.value:
			w.value = nil
		case <-resumed:
			// The client re-sends watches after a reconnect but only logs a
			// failure to: set them all again. Taken before that, so that a
			// reconnect during the next look closes it again.
			w, resumed = watches{}, ep.Resumed()
		case <-ep.Done():
		case <-ctx.Done():
			return
		}
	}
}

// offer hands p to the reader, replacing a state it has not read yet. Only
// the observing goroutine sends, so once the stale state is taken back the
// send cannot block.
func offer(out chan *Participant, p *Participant) {
	for {
		select {
		case out <- p:
			return
		default:
		}
		select {
		case <-out:
		default:
		}
	}
}

func same(a, b *Participant) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Name == b.Name && a.Identity == b.Identity && bytes.Equal(a.Value, b.Value)
}

// clone keeps our copy of what was sent apart from the reader's.
func clone(p *Participant) *Participant {
	if p == nil {
		return nil
	}
	c := *p
	c.Value = bytes.Clone(p.Value)
	return &c
}
