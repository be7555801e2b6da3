// Package once runs a function at most once per key across a fleet: the
// deduplication a consumer of an at-least-once queue needs, where every
// message id may reach every worker.
//
//	o, err := once.New(m, "/myapp/once/payments")
//	ran, err := o.Do(ctx, msg.ID, func(ctx context.Context, token int64) error {
//		return pay(ctx, msg, token) // the store refuses tokens below the highest it saw
//	})
//
// A lock per key with TryLock alone is not enough: it stops two workers
// handling a key at the same moment, not one after the other. Do takes
// the key's lock (a fair mutex), and records the key's completion under it,
// in one transaction with a check that the lock is still held; a worker
// that comes later reads the record and returns (false, nil) without
// queueing, and one that waited for the lock reads it again once it holds
// the lock.
//
// # What "once" can and cannot mean
//
// ZooKeeper knows only what happens in ZooKeeper. Do guarantees that, while
// a key's completion is remembered, fn does not start for that key after a
// call to it has returned nil and been recorded, and that no two calls for
// one key run while both hold the lock. It cannot make fn's effect
// elsewhere happen once:
//
//   - A process that dies, or loses its session, in the middle of fn leaves
//     the key not done: another worker runs fn again. So does one whose fn
//     succeeded but lost the lock before the record was written (Do then
//     returns ErrNotRecorded). fn's effect outside ZooKeeper must therefore
//     be idempotent (keyed by the same id), or fenced: fn receives the
//     lock's fencing token, and a store that refuses tokens lower than the
//     highest it has seen refuses a worker that was paused past its lease
//     while another one ran the key (examples/dedupe shows such a store).
//   - If fn returns an error, the key stays not done, and the next Do for
//     it runs fn again.
//   - Completions are remembered until swept (see Sweep): a key delivered
//     again after the dedupe window runs again.
//
// # Nodes and retention
//
// dir/locks/<key> holds each key's lock, as container nodes that the
// server removes once empty (60 s later with the default
// containerCheckIntervalMs). dir/done/<bucket>/<shard>/<key> are the
// persistent completion markers: a bucket per interval (WithBucket, an hour
// by default), named after its end in UTC, so that Sweep can drop whole
// intervals; each key sits in one of 16 shards, which keeps every listing
// Sweep reads far under ZooKeeper's reply size. This works on a stock
// server: TTL nodes would need extendedTypesEnabled. Each lookup reads the
// bucket list and then, all at once, one marker path per bucket.
package once
