package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// lockEnsembleDir takes dir's lock file, so that two `ensemble up` or
// `down` at once do not start the same servers twice or remove what the
// other starts. With create, dir is made if missing; without, a missing dir
// is fs.ErrNotExist. It waits for another command holding the lock at most
// bound.
func lockEnsembleDir(ctx context.Context, dir string, create bool, bound time.Duration) (unlock func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	path := filepath.Join(dir, ensembleLockFile)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if create {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, failure(kindOther, "creating the ensemble's directory: %v", err)
			}
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !create:
			return nil, err
		case errors.Is(err, fs.ErrNotExist):
			continue // removed by a down meanwhile: make it again
		case err != nil:
			return nil, failure(kindOther, "locking the ensemble's directory: %v", err)
		}
		locked, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, failure(kindOther, "locking %s: %v", path, err)
		}
		if locked {
			// A down may have removed the directory, lock file and all,
			// between our open and our lock: then the lock guards nothing.
			fi, err1 := f.Stat()
			cur, err2 := os.Stat(path)
			if err1 == nil && err2 == nil && os.SameFile(fi, cur) {
				return func() { f.Close() }, nil
			}
			f.Close()
			if !create {
				return nil, fs.ErrNotExist
			}
			continue
		}
		f.Close()
		select {
		case <-t.C:
		case <-ctx.Done():
			if context.Cause(ctx) == context.Canceled {
				return nil, failure(kindOther, "interrupted")
			}
			return nil, failure(kindOther, "another zkcoord ensemble command has been working on %s for %v: wait for it, or remove %s if none runs", dir, bound, path)
		}
	}
}
