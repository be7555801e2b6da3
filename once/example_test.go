package once_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/once"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

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

	payments, err := once.New(m, "/myapp/once/payments")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The same message, delivered twice (to this worker or to any other).
	for range 2 {
		ran, err := payments.Do(ctx, "msg-42", func(ctx context.Context, token int64) error {
			// Pay here, idempotently or fenced with token: if this process
			// dies before Do returns, another worker pays again.
			fmt.Println("paying msg-42")
			return nil
		})
		fmt.Println("ran:", ran, "err:", err)
	}
	// Forget completions more than a day old (run it now and then).
	if _, err := payments.Sweep(ctx, 24*time.Hour); err != nil {
		fmt.Println(err)
	}
	// Output:
	// paying msg-42
	// ran: true err: <nil>
	// ran: false err: <nil>
}
