package once

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
)

// sweepers bounds the deletes Sweep has in flight at once.
const sweepers = 32

// Sweep forgets completions: it deletes every bucket of markers whose
// interval ended more than olderThan ago, and reports how many markers it
// deleted. A key completed at time t is thus remembered until at least
// t+olderThan and at most t+olderThan+bucket (WithBucket): that is the
// dedupe window, and a key delivered again after it runs again.
//
// Any process may sweep, as often as it likes, while others run Do: the
// bucket being written is never old enough, and sweepers racing each other
// each delete what the other has not. Markers are kept by ZooKeeper until
// swept: a Once that is never swept keeps every key, and every bucket
// makes each lookup one read longer. The window is measured on the clocks
// of the processes that complete keys and of the one that sweeps: a clock
// that runs ahead by d shortens it by d.
func (o *Once) Sweep(ctx context.Context, olderThan time.Duration) (removed int, err error) {
	if olderThan < 0 {
		return 0, fmt.Errorf("%w: Sweep(olderThan %v): negative", recipes.ErrInvalidArgument, olderThan)
	}
	ep, err := o.m.Epoch(ctx)
	if err != nil {
		return 0, recipes.SessionError(err)
	}
	root := o.doneRoot()
	buckets, _, err := ep.Children(ctx, root)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil
	}
	if err != nil {
		return 0, recipes.SessionError(err)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, b := range buckets {
		end, ok := bucketEnd(b)
		if !ok || !end.Before(cutoff) {
			continue
		}
		n, err := o.sweepBucket(ctx, root+"/"+b)
		removed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, recipes.SessionError(errors.Join(errs...))
}

// sweepBucket deletes a bucket's markers, then its shards, then itself.
// ZooKeeper deletes only childless nodes, one at a time; the deletes go
// out together, up to sweepers at once.
func (o *Once) sweepBucket(ctx context.Context, bucket string) (removed int, err error) {
	ep, err := o.m.Epoch(ctx)
	if err != nil {
		return 0, err
	}
	shardNames, _, err := ep.Children(ctx, bucket)
	if err != nil {
		return 0, ignoreNoNode(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, sweepers)
	)
	del := func(p string, marker bool) {
		defer wg.Done()
		defer func() { <-sem }()
		err := ignoreNoNode(ep.Delete(ctx, p, -1))
		if !marker && errors.Is(err, zk.ErrNotEmpty) {
			err = nil // a late writer's marker: the next sweep takes both
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("deleting %s: %w", p, err))
		} else if marker {
			removed++
		}
	}
	for _, s := range shardNames {
		shard := bucket + "/" + s
		keys, _, err := ep.Children(ctx, shard)
		if err != nil {
			if err = ignoreNoNode(err); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		for _, k := range keys {
			wg.Add(1)
			sem <- struct{}{}
			go del(shard+"/"+k, true)
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return removed, errors.Join(errs...)
	}
	for _, s := range shardNames {
		wg.Add(1)
		sem <- struct{}{}
		go del(bucket+"/"+s, false)
	}
	wg.Wait()
	if len(errs) > 0 {
		return removed, errors.Join(errs...)
	}
	if err := ignoreNoNode(ep.Delete(ctx, bucket, -1)); !errors.Is(err, zk.ErrNotEmpty) {
		return removed, err
	}
	return removed, nil
}

// ignoreNoNode: what another sweeper deleted first is deleted.
func ignoreNoNode(err error) error {
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	return err
}
