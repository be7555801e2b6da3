package once

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// done reports whether a marker for key exists in any bucket not yet
// swept. The lookups go out together: the client pipelines them on its one
// connection, so they cost about one round trip.
func (o *Once) done(ctx context.Context, key string) (bool, error) {
	for {
		ep, err := o.m.Epoch(ctx)
		if err != nil {
			return false, recipes.SessionError(err)
		}
		done, err := o.lookup(ctx, ep, key)
		if errors.Is(err, session.ErrConnectionLoss) && ctx.Err() == nil {
			continue // reads: asking again is safe
		}
		return done, recipes.SessionError(err)
	}
}

// lookup lists the buckets and, at the same time, looks for key in the
// buckets the last listing found; only a bucket that the listing adds
// (once per bucket interval) costs a second round trip. Every bucket of
// the listing is looked in, each read sent after the call began, so the
// answer is as fresh as a listing followed by the reads would be.
func (o *Once) lookup(ctx context.Context, ep *session.Epoch, key string) (bool, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		found bool
		errs  []error
	)
	look := func(buckets []string) {
		for _, b := range buckets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := ep.Exists(ctx, o.markerPath(b, key))
				mu.Lock()
				defer mu.Unlock()
				found = found || ok
				if err != nil {
					errs = append(errs, err)
				}
			}()
		}
	}
	known := o.knownBuckets()
	look(known)
	children, _, err := ep.Children(ctx, o.doneRoot())
	if errors.Is(err, zk.ErrNoNode) {
		children, err = nil, nil
	}
	var buckets []string
	for _, b := range children {
		if _, ok := bucketEnd(b); ok { // anything else is not ours: ignored, never a crash
			buckets = append(buckets, b)
		}
	}
	if err == nil {
		var added []string
		for _, b := range buckets {
			if !slices.Contains(known, b) {
				added = append(added, b)
			}
		}
		look(added)
		o.setBuckets(buckets)
	}
	wg.Wait()
	if found {
		return true, nil // a failed read elsewhere cannot undo a marker found
	}
	return false, errors.Join(append(errs, err)...)
}

func (o *Once) knownBuckets() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buckets
}

func (o *Once) setBuckets(b []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buckets = b
}
