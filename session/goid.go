package session

import (
	"bytes"
	"runtime"
	"strconv"
)

// goid is the calling goroutine's id, read from its stack header
// ("goroutine 42 [running]:"). Close uses it only to tell whether it runs
// on a goroutine it would otherwise wait for.
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseInt(string(b), 10, 64)
	return id
}
