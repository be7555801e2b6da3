package election_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// A service instance becomes the leader, tells the others where to find
// it, and steps down; an observer follows along.
func Example() {
	zk, err := zktest.New(zktest.Options{Nodes: 1}) // or your ensemble's addresses
	if err != nil {
		fmt.Println(err)
		return
	}
	defer zk.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: zk.Servers(), SessionTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	el, err := election.New(m, "/myapp/election/scheduler", election.WithIdentity("scheduler-1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	changes := el.Observe(octx)
	fmt.Println("leader at first:", describe(<-changes))

	// The address goes in with the candidacy: nobody ever sees this
	// instance lead without it. (Proclaim changes it later.)
	term, err := el.CampaignWith(ctx, []byte("10.0.0.1:8080"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Work under term.Context(): it is cancelled if leadership is lost.
	// Give term.Token() to anything that can refuse a deposed leader.
	for p := range changes {
		if p != nil && p.Value != nil {
			fmt.Println("leader:", describe(p))
			break
		}
	}
	if err := term.Resign(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("leader at last:", describe(<-changes))
	// Output:
	// leader at first: none
	// leader: scheduler-1 at 10.0.0.1:8080
	// leader at last: none
}

func describe(p *election.Participant) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("%s at %s", p.Identity, p.Value)
}

// A scheduler that runs its loop only while it leads, and campaigns again
// whenever its term ends, until it is told to stop.
func ExampleElection_Run() {
	zk, err := zktest.New(zktest.Options{Nodes: 1}) // or your ensemble's addresses
	if err != nil {
		fmt.Println(err)
		return
	}
	defer zk.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: zk.Servers(), SessionTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	el, err := election.New(m, "/myapp/election/billing-job")
	if err != nil {
		fmt.Println(err)
		return
	}

	runCtx, stop := context.WithCancel(ctx)
	terms := 0
	err = el.Run(runCtx, func(ctx context.Context) error {
		terms++
		term := election.FromContext(ctx)
		fmt.Printf("term %d: leading, token > 0: %v\n", terms, term.Token() > 0)
		if terms == 1 {
			return errors.New("billing backend unreachable") // reported, then campaign again
		}
		stop() // in a real scheduler: serve until ctx is done
		<-ctx.Done()
		return ctx.Err()
	}, func(err error) {
		fmt.Println("reported:", err) // or log it, count it, alert
	})
	fmt.Println("Run returned:", err)
	// Output:
	// term 1: leading, token > 0: true
	// reported: billing backend unreachable
	// term 2: leading, token > 0: true
	// Run returned: context canceled
}
