package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// At most two workers call a rate-limited API at once, across the fleet.
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

	api, err := semaphore.New(m, "/myapp/semaphores/partner-api", 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := api.Acquire(ctx, 1)
	b, _ := api.Acquire(ctx, 1)
	_, err = api.TryAcquire(ctx, 1)
	fmt.Println("third worker must wait:", errors.Is(err, recipes.ErrWouldBlock))
	a.Release(ctx)
	c, err := api.TryAcquire(ctx, 1)
	fmt.Println("after a release:", err == nil)
	b.Release(ctx)
	c.Release(ctx)
	// Output:
	// third worker must wait: true
	// after a release: true
}
