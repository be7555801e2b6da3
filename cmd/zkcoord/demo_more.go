package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
)

// electionFailover: three schedulers campaign; the leader's process dies
// (its connections drop and nothing answers for it any more); its own term
// ends at its safe deadline, and only then is the next one elected.
func (d *demo) electionFailover(ctx context.Context) error {
	fmt.Fprintln(d.out, "\n== 4. election: the leader's process dies, the next scheduler takes over ==")
	const path = "/demo/scheduler"
	link := d.cluster.NewLink() // scheduler-a's network, to pull the plug on
	defer link.Close()
	type result struct {
		name string
		term *election.Leadership
		err  error
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var managers []*session.Manager
	defer func() {
		cancel() // ends the campaigns still waiting, before their sessions close
		for _, m := range managers {
			m.Close()
		}
	}()
	var observer *election.Election
	campaign := func(name string, servers []string, timeout time.Duration, out chan<- result) error {
		m, err := d.session(ctx, servers, timeout, name)
		if err != nil {
			return err
		}
		managers = append(managers, m)
		el, err := election.New(m, path)
		if err != nil {
			return err
		}
		observer = el
		go func() {
			term, err := el.Campaign(cctx)
			out <- result{name, term, err}
		}()
		return nil
	}
	firstDone := make(chan result, 1)
	if err := campaign("scheduler-a", link.Servers(), 2*time.Second, firstDone); err != nil {
		return err
	}
	a := <-firstDone
	if a.err != nil {
		return a.err
	}
	if err := a.term.Proclaim(ctx, []byte("http://10.0.0.1:8080")); err != nil {
		return err
	}
	next := make(chan result, 2)
	for _, name := range []string{"scheduler-b", "scheduler-c"} {
		if err := campaign(name, d.cluster.Servers(), 8*time.Second, next); err != nil {
			return err
		}
	}
	for {
		ps, err := observer.Participants(ctx)
		if err != nil {
			return err
		}
		if len(ps) == 3 {
			d.say("scheduler-a leads (token %d) and proclaims %s; %s and %s wait",
				a.term.Token(), ps[0].Value, ps[1].Identity, ps[2].Identity)
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	d.say("scheduler-a's process dies")
	died := time.Now()
	link.Cut()
	<-a.term.Done()
	d.say("scheduler-a's term ends on its side %v later: its work is cancelled (%v)",
		time.Since(died).Round(time.Millisecond), a.term.Err())
	b := <-next
	if b.err != nil {
		return b.err
	}
	d.say("%s elected %v after the crash, token %d > %d", b.name,
		time.Since(died).Round(time.Millisecond), b.term.Token(), a.term.Token())
	if b.term.Token() <= a.term.Token() {
		return errors.New("the new leader's token does not exceed the old one's")
	}
	select {
	case c := <-next:
		return fmt.Errorf("%s elected while %s leads", c.name, b.name)
	default:
	}
	return b.term.Resign(ctx)
}

// semaphoreCap: six workers share a rate-limited API through a semaphore of
// two permits; never more than two call it at once.
func (d *demo) semaphoreCap(ctx context.Context) error {
	fmt.Fprintln(d.out, "\n== 5. semaphore: six workers, two permits, never more than two at once ==")
	const path = "/demo/api-permits"
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 1; i <= 6; i++ {
		name := fmt.Sprintf("worker-%d", i)
		m, err := d.session(ctx, d.cluster.Servers(), 8*time.Second, name)
		if err != nil {
			return err
		}
		defer m.Close()
		sem, err := semaphore.New(m, path, 2)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := sem.Acquire(ctx, 1)
			if err != nil {
				errs <- err
				return
			}
			n := inside.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			d.say("%s calls the API (%d of 2 permits in use)", name, n)
			time.Sleep(150 * time.Millisecond) // the call
			inside.Add(-1)
			errs <- l.Release(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	d.say("all six done; at most %d held the API at once", most.Load())
	if most.Load() > 2 {
		return errors.New("more than two workers held a permit at once")
	}
	return nil
}
