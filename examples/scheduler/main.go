// Scheduler runs a periodic job on exactly one of three scheduler nodes:
// the elected leader. election.Run campaigns, runs the job while the node
// leads, and when its term ends, cancels the job and queues the node up
// again (Curator's LeaderSelector with autoRequeue).
//
// An operator deletes the leader's node three times in a row (a session
// expiry or a partition ends a term the same way). Each time, the deposed
// node's job stops, the next node in line takes over, and the deposed one
// joins the back of the queue, so leadership comes round to a node that
// had lost it.
//
// A deleted node, unlike a lost session, gives its owner no warning: the
// deposed leader may hear of it only after its successor is elected. So
// the job records each run in a job log with the term's fencing token, and
// the log refuses a token lower than the highest it has seen.
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/scheduler
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/examples/internal/fenced"
	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/recipes"
)

const (
	electionPath = "/examples/scheduler/leader"
	nodes        = 3
	depositions  = 3
	runsPerTerm  = 3 // how many runs of the job the operator waits for before deposing
)

func main() {
	// Ctrl-C or SIGTERM cancels ctx: run returns, and the deferred Close of
	// every session ends it at once. A process killed without Close would
	// hold its locks until the server expires its session.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	harness.Main(ctx, run)
}

func run(ctx context.Context, out io.Writer, servers []string) error {
	say := harness.Printer(out)
	log, runs := &jobLog{}, make(chan term, 16)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	for i := range nodes {
		name := fmt.Sprintf("scheduler-%d", i+1)
		m, err := harness.Connect(ctx, servers, name)
		if err != nil {
			return err
		}
		defer m.Close()
		// Each node campaigns with the address it serves on, so whoever
		// watches the election never sees a leader it cannot reach.
		addr := fmt.Sprintf("10.0.0.%d:8080", i+1)
		el, err := election.New(m, electionPath, election.WithValue([]byte(addr)))
		if err != nil {
			return err
		}
		wg.Go(func() {
			err := el.Run(runCtx, job(say, name, log, runs), func(err error) {
				if errors.Is(err, recipes.ErrLost) {
					say("%s: term lost (%v); back in the queue", name, err)
				} else {
					say("%s: %v", name, err)
				}
			})
			say("%s: Run returned: %v", name, err)
		})
	}

	op, err := harness.Connect(ctx, servers, "operator")
	if err != nil {
		return err
	}
	defer op.Close()
	observer, err := election.New(op, electionPath) // only observes: never campaigns
	if err != nil {
		return err
	}
	var t term
	for i := 0; i <= depositions; i++ {
		if t, err = nextTerm(ctx, runs, t.token); err != nil {
			return err
		}
		if i == depositions {
			break
		}
		leader, err := observer.Leader(ctx)
		if err != nil || leader == nil || leader.Identity != t.node || leader.Value == nil {
			return fmt.Errorf("operator: leader %v, want %s with its address (%v)", leader, t.node, err)
		}
		say("operator: deleting the node of leader %s (at %s)", leader.Identity, leader.Value)
		ep, err := op.Epoch(ctx) // the operator's ZooKeeper session, for a plain delete
		if err != nil {
			return err
		}
		if err := ep.Delete(ctx, electionPath+"/"+leader.Name, -1); err != nil {
			return err
		}
	}
	say("operator: stopping every scheduler")
	stop()
	wg.Wait()
	summary := "job log:"
	for _, t := range log.terms {
		summary += fmt.Sprintf(" %s×%d", t.node, t.runs)
	}
	say("%s", summary)
	return nil
}

// job is what only the leader runs: every 20ms, one run of the scheduled
// job, recorded in the job log under the term's fencing token.
func job(say func(string, ...any), node string, log *jobLog, runs chan<- term) func(context.Context) error {
	return func(ctx context.Context) error {
		leadership := election.FromContext(ctx)
		say("%s: elected (token %d), running the job", node, leadership.Token())
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return ctx.Err() // the term ended: stop at once
			case <-tick.C:
			}
			t, err := log.record(leadership.Token(), node)
			if err != nil {
				return err
			}
			select {
			case runs <- t:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// nextTerm waits until the leader of a term after the one with token
// after has run the job runsPerTerm times.
func nextTerm(ctx context.Context, runs <-chan term, after int64) (term, error) {
	for {
		select {
		case t := <-runs:
			if t.token > after && t.runs >= runsPerTerm {
				return t, nil
			}
		case <-ctx.Done():
			return term{}, ctx.Err()
		}
	}
}

// term is one leader's runs of the job.
type term struct {
	node  string
	token int64
	runs  int
}

// jobLog stands in for wherever the job's results go: a deposed leader
// that has not noticed yet cannot record a run once its successor has.
type jobLog struct {
	fenced.Fence
	terms []term
}

// record records a run and returns its term so far.
func (l *jobLog) record(token int64, node string) (t term, err error) {
	err = l.Write(token, func() {
		if n := len(l.terms); n == 0 || l.terms[n-1].token != token {
			l.terms = append(l.terms, term{node: node, token: token})
		}
		l.terms[len(l.terms)-1].runs++
		t = l.terms[len(l.terms)-1]
	})
	return t, err
}
