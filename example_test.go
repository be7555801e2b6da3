package zkcoord_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// One payment run across a fleet: whoever holds the lock runs it, and the
// payment store refuses writes carrying a token lower than the highest seen.
func Example() {
	zk, err := zktest.New(zktest.Options{Nodes: 1})
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
	payments, _ := mutex.New(m, "/billing/payment-run")

	lease, err := payments.Lock(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lease.Unlock(ctx)
	select {
	case <-lease.Done():
		fmt.Println("lost the lock:", lease.Err())
	default:
		fmt.Println("running payments with fencing token > 0:", lease.Token() > 0)
	}
	// Output: running payments with fencing token > 0: true
}
