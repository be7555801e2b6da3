package once

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
)

// The nodes of a Once at dir:
//
//	dir/locks/<key>/...                   a mutex per key (containers: the server reaps them once empty)
//	dir/done/<bucket>/<shard>/<key>       a persistent marker per completed key
//
// A bucket is named after the end of the interval in which its markers
// were written (bucketLayout, UTC), so that Sweep can tell its age from its
// name alone, whatever interval each writer used. Shards spread a bucket's
// markers over several parents: a listing must fit in one reply (the
// client's buffer is about 1.5 MiB), and Sweep lists each shard whole.
const (
	locksDir     = "locks"
	doneDir      = "done"
	shards       = 16
	bucketLayout = "20060102T150405Z"
)

// MaxKeyLen bounds a key, in bytes: it is a node name, in paths that every
// lookup sends, and in the listings Sweep reads.
const MaxKeyLen = 256

// validKey refuses a key that cannot be one node's name.
func validKey(key string) error {
	bad := func(why string) error {
		if len(key) > 64 {
			key = key[:64] + "..."
		}
		return fmt.Errorf("%w: once key %q: %s", recipes.ErrInvalidArgument, key, why)
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > MaxKeyLen:
		return bad(fmt.Sprintf("longer than MaxKeyLen (%d bytes)", MaxKeyLen))
	case strings.Contains(key, "/"):
		return bad("contains /")
	case key == "." || key == "..":
		return bad("not a node name")
	}
	var perr *recipes.PathError
	if errors.As(recipes.ValidatePath("/k/"+key), &perr) {
		return bad(perr.Reason)
	}
	return nil
}

// bucketOf names the bucket of a marker written at t.
func bucketOf(t time.Time, width time.Duration) string {
	return t.UTC().Truncate(width).Add(width).Format(bucketLayout)
}

// bucketEnd parses a bucket's name; ok is false for any other child.
func bucketEnd(name string) (end time.Time, ok bool) {
	end, err := time.Parse(bucketLayout, name)
	return end, err == nil
}

func shardOf(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return fmt.Sprintf("%02x", h.Sum32()%shards)
}

func (o *Once) lockPath(key string) string { return o.dir + "/" + locksDir + "/" + key }

func (o *Once) doneRoot() string { return o.dir + "/" + doneDir }

func (o *Once) shardPath(bucket, key string) string {
	return o.doneRoot() + "/" + bucket + "/" + shardOf(key)
}

func (o *Once) markerPath(bucket, key string) string {
	return o.shardPath(bucket, key) + "/" + key
}
