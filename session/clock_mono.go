package session

import "time"

var monoOrigin = time.Now()

func monoNanos() int64 { return int64(time.Since(monoOrigin)) }
