package election_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Session timeouts: one the tests' healthy clients never come near, one
// for candidates a test may cut off (short enough that a partition costs
// little, long enough that a loaded two-core machine keeps them alive
// otherwise), and a shorter one still for clients that are cut off on
// purpose every time.
const (
	healthy = 8 * time.Second
	fragile = 2 * time.Second
	short   = time.Second
)

func dirFor(t *testing.T) string {
	return "/zkcoord-test/election/" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
}

func manager(t *testing.T, servers []string, timeout time.Duration) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: servers, SessionTimeout: timeout, Logger: testutil.Logger(), Identity: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newElection(t *testing.T, m *session.Manager, dir string, opts ...election.Option) *election.Election {
	t.Helper()
	el, err := election.New(m, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// clean checks, while the sessions are still open, that nothing of ours
// is left on the servers: no node under dir, no watch by these sessions.
func clean(t *testing.T, c *zktest.Cluster, dir string, ms ...*session.Manager) {
	t.Helper()
	var ids []int64
	for _, m := range ms {
		if ep := m.Current(); ep != nil && ep.Alive() {
			ids = append(ids, ep.SessionID())
		}
	}
	c.CheckClean(t, dir, ids...)
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// elected is a campaign's outcome, stamped when Campaign returned.
type elected struct {
	l   *election.Leadership
	err error
	at  time.Time
}

// campaign runs Campaign in the background.
func campaign(ctx context.Context, el *election.Election) <-chan elected {
	ch := make(chan elected, 1)
	go func() {
		l, err := el.Campaign(ctx)
		ch <- elected{l, err, time.Now()}
	}()
	return ch
}

// await returns the outcome of a background campaign, failing t if it
// takes longer than d or fails.
func await(t *testing.T, ch <-chan elected, d time.Duration) elected {
	t.Helper()
	select {
	case e := <-ch:
		if e.err != nil {
			t.Fatalf("Campaign: %v", e.err)
		}
		return e
	case <-time.After(d):
		t.Fatalf("not elected within %v", d)
	}
	panic("unreachable")
}

// lead campaigns and fails t unless elected within a minute.
func lead(t *testing.T, ctx context.Context, el *election.Election) *election.Leadership {
	t.Helper()
	return await(t, campaign(ctx, el), time.Minute).l
}

// queued waits until the election has n participants.
func queued(t *testing.T, ctx context.Context, el *election.Election, n int) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%d participants", n), func() bool {
		ps, err := el.Participants(ctx)
		return err == nil && len(ps) == n
	})
}

func base(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// serverOf returns the index of the server a session is connected to, or
// -1 if none of the running ones has it.
func serverOf(c *zktest.Cluster, sessionID int64) int {
	want := fmt.Sprintf("sid=0x%x,", sessionID)
	for i := range c.Servers() {
		out, err := c.FourLetter(i, "cons")
		if err == nil && strings.Contains(out, want) {
			return i
		}
	}
	return -1
}
