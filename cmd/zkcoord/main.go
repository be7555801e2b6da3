// Command zkcoord runs programs under a ZooKeeper lock, semaphore permits or
// an election's leadership (lock, semaphore run, elect), inspects zkcoord,
// Curator and kazoo locks, semaphores and elections (ls, locks, semaphore,
// leader), runs the demo, and manages a local development ensemble.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
