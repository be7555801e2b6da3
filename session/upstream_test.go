package session

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// The workarounds in upstream.go answer go-zookeeper v1.0.4's behaviour.
// When the module changes, this fails first, by name: check each
// workaround against the new version (its changelog and the behaviours
// pinned below), drop those it fixed, then update the version here.
func TestUpstreamVersionPinned(t *testing.T) {
	const pinned = "github.com/go-zookeeper/zk v1.0.4"
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/go-zookeeper/zk" {
			if got := f[0] + " " + f[1]; got != pinned {
				t.Fatalf("go.mod requires %s; the workarounds in upstream.go were written for %s: re-check them", got, pinned)
			}
			return
		}
	}
	t.Fatal("go.mod does not require go-zookeeper")
}

// The event channel holds 6 events and drops the rest (hence the
// callback into an unbounded queue). If upstream stops dropping, the
// workaround is moot.
func TestUpstreamEventChannelDrops(t *testing.T) {
	conn, events, err := zk.Connect([]string{"127.0.0.1:1"}, time.Second, zk.WithLogInfo(false), zk.WithLogger(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	// Each failed dial publishes connecting and disconnected: without a
	// reader the channel fills at 6 and stays there.
	deadline := time.Now().Add(20 * time.Second)
	for len(events) < cap(events) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling a channel's length: nothing to wait on
	}
	conn.Close()
	if cap(events) != 6 {
		t.Fatalf("the event channel holds %d events, not 6: re-check the event queue workaround", cap(events))
	}
	if len(events) != 6 {
		t.Fatalf("only %d events buffered after 20s of failed dials", len(events))
	}
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// The hold reads the client's request counter where v1.0.4 keeps it
// (xidFloor): a request queued after the read is numbered above it.
func TestUpstreamRequestCounter(t *testing.T) {
	conn, _, err := zk.Connect([]string{"127.0.0.1:1"}, time.Second, zk.WithLogInfo(false), zk.WithLogger(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	read := xidFloor(conn)
	if read == nil {
		conn.Close()
		t.Fatal("no request counter in *zk.Conn: re-check replyHold's floor")
	}
	floor := read()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn.Exists("/a") // queued at once, answered ErrClosing at Close
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !xidAfter(read(), floor) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the counter has nothing to wait on
	}
	advanced := read()
	conn.Close()
	<-done
	if advanced != floor+1 {
		t.Fatalf("counter %d before a request, %d after: re-check replyHold's floor", floor, advanced)
	}
}
