//go:build unix

package ports

import (
	"os"
	"syscall"
)

// lock takes path's advisory lock without waiting. The kernel drops it when
// the file is closed, which happens when its process dies, so a crashed test
// leaves nothing stale behind. A read-only open is enough for flock, and
// works on a file another user created.
func lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func unlock(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}
