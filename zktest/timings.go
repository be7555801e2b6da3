package zktest

import (
	"fmt"
	"time"
)

// ShippedTimings are the timings of ZooKeeper's sample zoo.cfg, which most
// production ensembles keep: a 2 s tick, followers dropped after 5 ticks
// without the leader, 10 ticks to sync at startup, sessions of 2 to 20
// ticks. A safety claim is tested here too, not only at the fast default
// timings, since how long a server cut off from its peers keeps serving
// (SyncLimit ticks) is what a session's safe deadline must allow for.
// Copy it and set the rest:
//
//	opts := zktest.ShippedTimings
//	opts.Nodes = 3
//	c := zktest.Start(t, opts)
var ShippedTimings = Options{
	TickTime:          2 * time.Second,
	SyncLimit:         5,
	InitLimit:         10,
	MinSessionTimeout: 4 * time.Second,
	MaxSessionTimeout: 40 * time.Second,
}

// defaultTick keeps sessions of one or two seconds legal.
const defaultTick = 100 * time.Millisecond

// withTimings fills in the timing defaults and checks the timings agree.
func withTimings(opts Options) (Options, error) {
	if opts.TickTime == 0 {
		opts.TickTime = defaultTick
	}
	tick := opts.TickTime
	if tick < time.Millisecond {
		return opts, fmt.Errorf("zktest: TickTime %v is below 1ms", tick)
	}
	ticks := func(d time.Duration) int { return max(int((d+tick-1)/tick), 2) }
	if opts.InitLimit == 0 {
		// Covers a follower's JVM still warming up while it syncs.
		opts.InitLimit = ticks(10 * time.Second)
	}
	if opts.SyncLimit == 0 {
		// Also the leader's and followers' read timeout on each other: at
		// 500ms a loaded two-core machine dropped quorum now and then, at
		// 1s it did not.
		opts.SyncLimit = ticks(time.Second)
	}
	if opts.MinSessionTimeout == 0 {
		opts.MinSessionTimeout = 2 * tick // ZooKeeper's default
	}
	if opts.MaxSessionTimeout == 0 {
		// ZooKeeper's default ceiling of 20 ticks would clamp every session
		// to 2s at the default tick, too little for a healthy client on a
		// loaded two-core machine.
		opts.MaxSessionTimeout = 100 * tick
	}
	switch {
	case opts.InitLimit < 1 || opts.SyncLimit < 1:
		return opts, fmt.Errorf("zktest: InitLimit %d and SyncLimit %d must be at least one tick", opts.InitLimit, opts.SyncLimit)
	case opts.MinSessionTimeout < time.Millisecond:
		return opts, fmt.Errorf("zktest: MinSessionTimeout %v is below 1ms", opts.MinSessionTimeout)
	case opts.MaxSessionTimeout < opts.MinSessionTimeout:
		return opts, fmt.Errorf("zktest: MaxSessionTimeout %v is below MinSessionTimeout %v", opts.MaxSessionTimeout, opts.MinSessionTimeout)
	}
	return opts, nil
}

// startWait bounds starting an ensemble or a server at the given tick:
// startTimeout is what a loaded machine needs at fast ticks, and election,
// sync and the leader's wait for its followers' acks are counted in ticks
// on top of that.
func startWait(tick time.Duration) time.Duration {
	return startTimeout + 10*tick
}

// zooCfgTimings is the timing part of a server's zoo.cfg.
func zooCfgTimings(opts Options) string {
	return fmt.Sprintf("tickTime=%d\ninitLimit=%d\nsyncLimit=%d\nminSessionTimeout=%d\nmaxSessionTimeout=%d\n",
		opts.TickTime.Milliseconds(), opts.InitLimit, opts.SyncLimit,
		opts.MinSessionTimeout.Milliseconds(), opts.MaxSessionTimeout.Milliseconds())
}
