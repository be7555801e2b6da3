// Command chaos runs the chaos suite for as long as asked, on a seed that
// is random unless given, and prints the result table. It exits 1 on any
// violation, 2 when the run itself could not be carried out.
//
//	go run ./chaos/cmd/chaos -duration 10m
//	go run ./chaos/cmd/chaos -duration 3m -seed 42
//	go run ./chaos/cmd/chaos -duration 10m -timings shipped
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/chaos"
	"github.com/zkcoord/zkcoord/zktest"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long the nemesis injects faults")
	seed := flag.Uint64("seed", 0, "schedule seed (0: random, printed)")
	clients := flag.Int("clients", 4, "client processes")
	timings := flag.String("timings", "fast", "ensemble timings: fast (100ms tick, 2s sessions) or shipped (ZooKeeper's: 2s tick, syncLimit 5, 10s sessions)")
	timeout := flag.Duration("session-timeout", 0, "clients' session timeout (default: 2s fast, 10s shipped)")
	margin := flag.Duration("margin", 0, "clients' safety margin (0: the library's default)")
	noElection := flag.Bool("no-election", false, "contend for the mutex only")
	dir := flag.String("dir", "", "where to keep logs and records (default: a new temporary directory)")
	flag.Parse()
	os.Exit(run(*duration, *seed, *clients, *timings, *timeout, *margin, *noElection, *dir))
}

func run(duration time.Duration, seed uint64, clients int, timings string, timeout, margin time.Duration, noElection bool, dir string) int {
	opts, sessionTimeout, err := chaos.ClusterOptions(timings)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if timeout == 0 {
		timeout = sessionTimeout
	}
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:]) >> 1
	}
	fmt.Printf("chaos: seed %d (rerun with -seed %d)\n", seed, seed)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

	if dir == "" {
		d, err := os.MkdirTemp("", "chaos-")
		if err != nil {
			logf("chaos: %v", err)
			return 2
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("chaos: %v", err)
		return 2
	}
	bin, err := chaos.Build(ctx, dir)
	if err != nil {
		logf("%v", err)
		return 2
	}
	if os.Getenv("ZK_SERVERS") != "" {
		logf("chaos: ZK_SERVERS is ignored: the nemesis needs servers it can kill")
		os.Unsetenv("ZK_SERVERS")
	}
	opts.Logf = logf
	c, err := zktest.New(opts)
	if err != nil {
		logf("%v", err)
		return 2
	}
	defer c.Stop()
	rep, err := chaos.Run(ctx, chaos.Config{
		Seed: seed, Duration: duration, Clients: clients,
		SessionTimeout: timeout, SafetyMargin: margin, NoElection: noElection,
		Cluster: c, Bin: bin, Dir: dir, Logf: logf,
	})
	if err != nil {
		logf("%v (logs in %s; seed %d)", err, dir, seed)
		return 2
	}
	fmt.Print(rep.Table())
	if len(rep.Violations()) > 0 {
		return 1
	}
	return 0
}
