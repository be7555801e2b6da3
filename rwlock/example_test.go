package rwlock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/rwlock"
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

	// Two participants in this process: each RWLock value is one.
	reader, err := rwlock.New(m, "/myapp/locks/catalog")
	if err != nil {
		fmt.Println(err)
		return
	}
	other, _ := rwlock.New(m, "/myapp/locks/catalog")

	r1, err := reader.RLock(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	r2, err := other.TryRLock(ctx)
	fmt.Println("two readers at once:", err == nil)
	_, err = other.TryLock(ctx)
	fmt.Println("upgrade refused:", errors.Is(err, recipes.ErrUpgrade))
	r2.RUnlock(ctx)
	_, err = other.TryLock(ctx)
	fmt.Println("writer waits for the reader:", errors.Is(err, recipes.ErrWouldBlock))
	r1.RUnlock(ctx)

	// Rebuild the catalog under the write lock, then keep reading it
	// without letting another writer in between.
	w, err := other.Lock(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := w.Downgrade(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("read token above write token:", r.Token() > w.Token())
	r.RUnlock(ctx)
	// Output:
	// two readers at once: true
	// upgrade refused: true
	// writer waits for the reader: true
	// read token above write token: true
}
