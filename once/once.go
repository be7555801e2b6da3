package once

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// ErrNotRecorded is returned, wrapped with the reason, when fn succeeded
// but its completion could not be recorded because the lock was lost
// first (the session expired or went past its safe deadline, or the lock
// node was deleted). The key is not done: another worker may run fn again.
var ErrNotRecorded = errors.New("zkcoord/once: fn ran but its completion was not recorded")

// Once runs a function at most once per key across every process that
// opens the same directory; see the package documentation for what that
// can mean.
type Once struct {
	m        *session.Manager
	dir      string
	width    time.Duration
	acl      []zk.ACL
	identity string

	mu      sync.Mutex
	shards  map[string]bool // shard parents known to exist: bucket/shard
	buckets []string        // the buckets the last lookup listed
}

// Option configures a Once.
type Option func(*options)

type options struct {
	width    time.Duration
	acl      []zk.ACL
	identity string
}

// DefaultBucket is the interval whose completions share a bucket.
const DefaultBucket = time.Hour

// WithBucket sets the interval whose completions share a bucket, the unit
// in which Sweep forgets them. Narrower buckets make the dedupe window
// tighter (see Sweep) but each lookup reads every bucket not yet swept, so
// keep olderThan/width small (tens). Default: DefaultBucket.
func WithBucket(d time.Duration) Option { return func(o *options) { o.width = d } }

// WithACL sets the ACL of every node the Once creates. Default: open to
// all (zk.WorldACL(zk.PermAll)).
func WithACL(acl []zk.ACL) Option { return func(o *options) { o.acl = acl } }

// WithIdentity sets who the lock nodes and the completion markers say ran
// fn. Default: the manager's identity.
func WithIdentity(id string) Option { return func(o *options) { o.identity = id } }

// New returns the Once at dir. Nothing is written until Do.
func New(m *session.Manager, dir string, opts ...Option) (*Once, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil session manager", recipes.ErrInvalidArgument)
	}
	if err := recipes.ValidatePath(dir); err != nil {
		return nil, err
	}
	o := options{width: DefaultBucket}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.width < time.Second || o.width%time.Second != 0 {
		return nil, fmt.Errorf("%w: bucket of %v: want whole seconds, at least one", recipes.ErrInvalidArgument, o.width)
	}
	if o.acl == nil {
		o.acl = zk.WorldACL(zk.PermAll)
	}
	if o.identity == "" {
		o.identity = m.Identity()
	}
	if err := recipes.ValidateData([]byte(o.identity)); err != nil {
		return nil, err
	}
	return &Once{m: m, dir: dir, width: o.width, acl: o.acl, identity: o.identity, shards: map[string]bool{}}, nil
}

// Do calls fn, unless key was completed already, anywhere, and reports
// whether it did.
//
// If a marker says key is done, Do returns (false, nil) at once, without
// queueing. Otherwise it takes the key's lock (waiting while another
// process runs fn for the same key), looks again, and if the key is still
// not done, calls fn with a context that is cancelled the moment the lock
// is lost or ctx ends, and the lock's fencing token. When fn returns nil,
// the marker is written in one transaction with a check that the lock is
// still held; then the lock is released.
//
// ran is true when fn was called. Errors: fn's own, wrapped, in which case
// key stays not done and the next Do runs fn again; ErrNotRecorded when fn
// succeeded but the lock was lost before the marker was written; ctx's
// error; recipes.ErrInvalidArgument for a bad key; a session error.
func (o *Once) Do(ctx context.Context, key string, fn func(ctx context.Context, token int64) error) (ran bool, err error) {
	if fn == nil {
		return false, fmt.Errorf("%w: nil function", recipes.ErrInvalidArgument)
	}
	if err := validKey(key); err != nil {
		return false, err
	}
	if done, err := o.done(ctx, key); err != nil || done {
		return false, err
	}
	mu, err := mutex.New(o.m, o.lockPath(key), mutex.WithACL(o.acl), mutex.WithIdentity(o.identity))
	if err != nil {
		return false, err
	}
	lease, err := mu.Lock(ctx)
	if err != nil {
		return false, fmt.Errorf("once %q: %w", key, err)
	}
	// The lock is released however Do ends, a panic in fn included: the
	// next worker then finds the key not done and runs it.
	defer lease.Unlock(context.WithoutCancel(ctx))

	// Whoever held the lock before us wrote its marker before releasing,
	// and our server has seen the release: it has the marker too.
	if done, err := o.done(ctx, key); err != nil || done {
		return false, err
	}
	fctx, stop := recipes.WithLease(ctx, lease.Context())
	defer stop() // a panic in fn included
	if err := fn(fctx, lease.Token()); err != nil {
		return true, fmt.Errorf("once %q: %w", key, err)
	}
	if err := o.record(ctx, lease, key); err != nil {
		return true, err
	}
	return true, nil
}

// marker is what a completion marker holds, for people and tools.
type marker struct {
	By    string    `json:"by"`
	Token int64     `json:"token"`
	At    time.Time `json:"at"`
}

// record writes key's marker, guarded by the lease.
func (o *Once) record(ctx context.Context, lease *mutex.Lease, key string) error {
	now := time.Now()
	bucket := bucketOf(now, o.width)
	data, err := json.Marshal(marker{By: o.identity, Token: lease.Token(), At: now.UTC()})
	if err != nil {
		return err
	}
	path := o.markerPath(bucket, key)
	// Not ctx: once fn has succeeded, recording it is worth finishing even
	// if the caller stops waiting. The lease's context ends only with the
	// lease, and then the write could not be applied anyway.
	rctx := lease.Context()
	retriedBucket := false
	for {
		err := o.ensureShard(rctx, bucket, key)
		if err == nil {
			_, err = lease.Guard(rctx, &zk.CreateRequest{Path: path, Data: data, Acl: o.acl, Flags: zk.FlagPersistent})
		}
		switch {
		case err == nil, errors.Is(err, zk.ErrNodeExists):
			// Exists: an earlier attempt whose reply was lost was applied.
			return nil
		case errors.Is(err, session.ErrConnectionLoss) && rctx.Err() == nil:
			continue
		case errors.Is(err, zk.ErrNoNode) && !retriedBucket:
			// A sweeper whose clock runs ahead of ours took the bucket.
			retriedBucket = true
			o.forget(bucket, key)
			continue
		}
		if rctx.Err() != nil {
			err = errors.Join(err, lease.Err())
		}
		return fmt.Errorf("once %q: %w: %w", key, ErrNotRecorded, err)
	}
}

// ensureShard makes sure the parent of key's marker in bucket exists,
// asking the server only the first time.
func (o *Once) ensureShard(ctx context.Context, bucket, key string) error {
	k := bucket + "/" + shardOf(key)
	o.mu.Lock()
	known := o.shards[k]
	o.mu.Unlock()
	if known {
		return nil
	}
	if err := recipes.EnsurePath(ctx, o.m, o.shardPath(bucket, key), o.acl); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	// Only the current bucket is ever written: drop the others.
	for s := range o.shards {
		if !strings.HasPrefix(s, bucket+"/") {
			delete(o.shards, s)
		}
	}
	o.shards[k] = true
	return nil
}

func (o *Once) forget(bucket, key string) {
	o.mu.Lock()
	delete(o.shards, bucket+"/"+shardOf(key))
	o.mu.Unlock()
}
