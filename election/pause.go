package election

import (
	"context"
	"math/rand/v2"
	"time"
)

// pause spaces retries after errors that retrying at once would not fix,
// so that a misconfigured observer or runner does not hammer the ensemble.
type pause struct{ next time.Duration }

const (
	firstPause = 100 * time.Millisecond
	maxPause   = 10 * time.Second
)

func newPause() *pause { return &pause{next: firstPause} }

func (p *pause) reset() { p.next = firstPause }

// wait sleeps for the next interval, jittered by ±50%, or until ctx ends.
func (p *pause) wait(ctx context.Context) error {
	d := p.next/2 + rand.N(p.next)
	p.next = min(2*p.next, maxPause)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
