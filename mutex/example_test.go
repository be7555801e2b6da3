package mutex_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
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

	migration, err := mutex.New(m, "/myapp/locks/schema-migration")
	if err != nil {
		fmt.Println(err)
		return
	}
	lease, err := migration.Lock(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Work under lease.Context(): it is cancelled if the lock is lost.
	// Give lease.Token() to anything that can refuse a stale holder.
	first := lease.Token()
	fmt.Println("holding:", lease.Err() == nil)
	if err := lease.Unlock(ctx); err != nil {
		fmt.Println(err)
		return
	}

	again, err := migration.Lock(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("next token is larger:", again.Token() > first)

	// A wait bounded by a timeout says where it stood when it gave up.
	wctx, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	_, err = migration.Lock(wctx)
	var wait *recipes.WaitError
	if errors.As(err, &wait) && errors.Is(err, context.DeadlineExceeded) {
		fmt.Println("gave up behind", wait.Ahead, "holder")
	}
	again.Unlock(ctx)
	// Output:
	// holding: true
	// next token is larger: true
	// gave up behind 1 holder
}
