package session_test

import (
	"context"
	"fmt"
	"time"

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
	m, err := session.New(ctx, session.Config{
		Servers:        zk.Servers(),
		SessionTimeout: 5 * time.Second,
		Identity:       "billing-7f9c",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	ep, err := m.Epoch(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("state:", m.State())
	fmt.Println("epoch:", ep.ID(), "alive:", ep.Alive())
	// Output:
	// state: connected
	// epoch: 1 alive: true
}
