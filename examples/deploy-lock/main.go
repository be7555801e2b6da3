// Deploy-lock keeps deploys to one environment from overlapping: one lock
// per environment (/examples/deploy/<env>), and Status to answer "who is
// deploying to staging, since when, and who is next?".
//
// alice deploys to staging and a CI runner to production. bob wants staging
// too: TryLock fails, so the tool tells him who holds it and queues him.
// A status board shows every environment; when alice is done, bob deploys.
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/deploy-lock
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
)

var environments = []string{"staging", "production", "qa"}

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
	locks := map[string]*mutex.Mutex{} // "who/env" -> that person's lock on env
	for _, who := range []string{"alice@laptop", "ci-runner-7", "bob@laptop", "status-board"} {
		m, err := harness.Connect(ctx, servers, who)
		if err != nil {
			return err
		}
		defer m.Close()
		for _, env := range environments {
			if locks[who+"/"+env], err = mutex.New(m, "/examples/deploy/"+env); err != nil {
				return err
			}
		}
	}

	alice, err := locks["alice@laptop/staging"].Lock(ctx)
	if err != nil {
		return err
	}
	say("alice@laptop: deploying to staging (token %d)", alice.Token())
	ci, err := locks["ci-runner-7/production"].Lock(ctx)
	if err != nil {
		return err
	}
	say("ci-runner-7: deploying to production (token %d)", ci.Token())

	bobsLock := locks["bob@laptop/staging"]
	if _, err := bobsLock.TryLock(ctx); !errors.Is(err, recipes.ErrWouldBlock) {
		return fmt.Errorf("bob@laptop: TryLock on a held lock: want ErrWouldBlock, got %v", err)
	}
	st, err := bobsLock.Status(ctx)
	if err != nil || st.Holder == nil {
		return fmt.Errorf("bob@laptop: no holder found (%v)", err)
	}
	say("bob@laptop: staging is busy: %s has been deploying since %s; queueing", st.Holder.Identity, st.Holder.Since.Format(time.TimeOnly))
	bobGot := make(chan *mutex.Lease, 1)
	bobErr := make(chan error, 1)
	go func() {
		l, err := bobsLock.Lock(ctx)
		if err != nil {
			bobErr <- err
			return
		}
		bobGot <- l
	}()

	// Lock returns only once bob holds, so the board, like any
	// observer, learns that he queued from Status.
	board := func(env string) (mutex.Status, error) { return locks["status-board/"+env].Status(ctx) }
	for {
		st, err := board("staging")
		if err != nil {
			return err
		}
		if len(st.Waiters) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := printBoard(say, board); err != nil {
		return err
	}

	say("alice@laptop: done, unlocking")
	if err := alice.Unlock(ctx); err != nil {
		return err
	}
	var bob *mutex.Lease
	select {
	case bob = <-bobGot:
	case err := <-bobErr:
		return fmt.Errorf("bob@laptop: %w", err)
	}
	say("bob@laptop: deploying to staging (token %d)", bob.Token())
	if err := printBoard(say, board); err != nil {
		return err
	}
	return errors.Join(bob.Unlock(ctx), ci.Unlock(ctx))
}

// printBoard prints who holds each environment's lock and who waits.
func printBoard(say func(string, ...any), status func(env string) (mutex.Status, error)) error {
	say("status board:")
	for _, env := range environments {
		st, err := status(env)
		if err != nil {
			return err
		}
		if st.Holder == nil {
			say("  %-10s free", env)
			continue
		}
		var waiting []string
		for _, w := range st.Waiters {
			waiting = append(waiting, w.Identity)
		}
		say("  %-10s %s since %s, waiting: [%s]", env, st.Holder.Identity, st.Holder.Since.Format(time.TimeOnly), strings.Join(waiting, " "))
	}
	return nil
}
