package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/chaos/internal/proto"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

// Paths the clients contend for.
const (
	Root         = "/chaos"
	MutexPath    = Root + "/mutex"
	ElectionPath = Root + "/election"
)

// Config is one run.
type Config struct {
	// Seed drives the nemesis's schedule and the clients' hold times.
	Seed uint64
	// Duration is how long the nemesis injects faults; it also injects
	// each kind at least once, which may take longer.
	Duration time.Duration
	// Clients is the number of client processes. Default 4.
	Clients int
	// SessionTimeout is what clients ask for. Default 2s.
	SessionTimeout time.Duration
	// SafetyMargin is the clients' session.Config.SafetyMargin. Default
	// 0: the library's (a quarter of the timeout, at least a tick), which
	// the session manager proves safe at either timings: it credits only
	// contact the leader proves, so the margin need not cover the
	// syncLimit × tickTime an isolated follower keeps serving.
	SafetyMargin time.Duration
	// NoElection leaves the election out: the clients contend for the
	// mutex only.
	NoElection bool
	// Cluster is a 3-node local ensemble (zktest), which the nemesis kills
	// and restarts. Required.
	Cluster *zktest.Cluster
	// Bin are the built programs (Build). Required.
	Bin Binaries
	// Dir receives the processes' logs, events and register records. Required.
	Dir string
	// Logf reports progress. Default: discard.
	Logf func(format string, args ...any)
}

func (cfg *Config) defaults() error {
	if cfg.Clients == 0 {
		cfg.Clients = 4
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = 2 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	switch {
	case cfg.Cluster == nil:
		return errors.New("chaos: Config.Cluster is required")
	case cfg.Cluster.External():
		return errors.New("chaos: the nemesis kills servers: it needs a local ensemble, not ZK_SERVERS")
	case len(cfg.Cluster.Servers()) != 3:
		return fmt.Errorf("chaos: a 3-node ensemble is needed, not %d", len(cfg.Cluster.Servers()))
	case cfg.Bin.Client == "" || cfg.Bin.Register == "":
		return errors.New("chaos: Config.Bin is required (Build)")
	case cfg.Dir == "":
		return errors.New("chaos: Config.Dir is required")
	case cfg.Clients < 2:
		return errors.New("chaos: at least 2 clients are needed for contention")
	}
	return nil
}

func (cfg *Config) keys() []string {
	if cfg.NoElection {
		return []string{proto.KeyMutex}
	}
	return []string{proto.KeyMutex, proto.KeyElection}
}

// Run starts the registers and clients, runs the nemesis, stops
// everything, and checks what happened. An error means the run itself
// could not be carried out (a server that would not restart, a client
// that would not start); what the library did wrong is in the Report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	wallStart := time.Now()
	t0 := proto.Now()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6368616f73)) // "chaos"
	st := newLive()
	var (
		regs    []*proc
		clients []*proc
		links   []*zktest.Link
		harness []string // problems with the harness's own view: unparsable events
		hmu     sync.Mutex
	)
	defer func() {
		for _, p := range append(clients, regs...) {
			p.kill()
		}
		for _, l := range links {
			l.Close()
		}
	}()

	fenced, fencedAddr, err := startRegister(cfg.Bin.Register, cfg.Dir, proto.RegFenced, true)
	if err != nil {
		return nil, err
	}
	regs = append(regs, fenced)
	unfenced, unfencedAddr, err := startRegister(cfg.Bin.Register, cfg.Dir, proto.RegUnfenced, false)
	if err != nil {
		return nil, err
	}
	regs = append(regs, unfenced)

	for k := range cfg.Clients {
		l := cfg.Cluster.NewLink()
		links = append(links, l)
		args := []string{
			"-id", fmt.Sprint(k),
			"-servers", strings.Join(l.Servers(), ","),
			"-fenced", fencedAddr, "-unfenced", unfencedAddr,
			"-session-timeout", cfg.SessionTimeout.String(),
			"-margin", cfg.SafetyMargin.String(),
			"-mutex", MutexPath,
			"-seed", fmt.Sprint(rng.Uint64()),
		}
		if !cfg.NoElection {
			args = append(args, "-election", ElectionPath)
		}
		p, err := start(fmt.Sprintf("client %d", k), cfg.Bin.Client, args,
			filepath.Join(cfg.Dir, fmt.Sprintf("client-%d.log", k)),
			func(line string) {
				var ev proto.Event
				if err := json.Unmarshal([]byte(line), &ev); err != nil || (ev.Ev == proto.EvOp && ev.Op == nil) {
					hmu.Lock()
					harness = append(harness, fmt.Sprintf("client %d wrote %q", k, line))
					hmu.Unlock()
					return
				}
				st.add(ev)
			})
		if err != nil {
			return nil, err
		}
		clients = append(clients, p)
	}

	// Every client up, and every key acquired once, before any fault.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = st.wait(wctx, func() bool {
		started := 0
		for _, ev := range st.events {
			if ev.Ev == proto.EvStart {
				started++
			}
		}
		if started < cfg.Clients {
			return false
		}
		for _, k := range cfg.keys() {
			if len(st.acquired[k]) == 0 {
				return false
			}
		}
		return true
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("chaos: clients did not start and acquire within 60s: %w (see %s)", err, cfg.Dir)
	}

	n := &nemesis{
		cfg: cfg, rng: rng, c: cfg.Cluster, links: links, clients: clients, st: st,
		keys: cfg.keys(), t0: t0, killed: map[int]bool{}, paused: map[int]bool{},
	}
	cfg.Logf("chaos: seed %d, %d clients, session timeout %v (margin %v), nemesis for %v; logs in %s",
		cfg.Seed, cfg.Clients, cfg.SessionTimeout, cfg.SafetyMargin, cfg.Duration, cfg.Dir)
	nemStart := proto.Now()
	nemErr := n.run(ctx)
	if err := n.cleanup(ctx); err != nil {
		return nil, fmt.Errorf("chaos: healing the ensemble after the run: %w", err)
	}
	if nemErr != nil {
		return nil, nemErr
	}
	nemEnd := proto.Now()
	// One more round of acquisitions with everything healed.
	n.awaitProgress(ctx, nemEnd)

	// Stop the clients: each releases what it holds and closes its session.
	stopErrs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, p := range clients {
		wg.Go(func() { stopErrs[i] = p.stop(30 * time.Second) })
	}
	wg.Wait()
	stoppedAt := proto.Now()
	orphans, orphanErr := leftovers(ctx, cfg.Cluster.Servers(), []string{MutexPath, ElectionPath})

	for _, p := range regs {
		if err := p.stop(10 * time.Second); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	recs := map[string][]proto.Record{}
	for _, r := range []string{proto.RegFenced, proto.RegUnfenced} {
		rs, err := readRecords(filepath.Join(cfg.Dir, "register-"+r+".jsonl"))
		if err != nil {
			return nil, err
		}
		recs[r] = rs
	}
	events := st.snapshot()
	if err := writeEvents(filepath.Join(cfg.Dir, "events.jsonl"), events); err != nil {
		return nil, err
	}
	faults := make([]Fault, len(n.faults))
	for i, f := range n.faults {
		faults[i] = *f
	}
	if data, err := json.MarshalIndent(faults, "", "  "); err == nil {
		if err := os.WriteFile(filepath.Join(cfg.Dir, "faults.json"), data, 0o644); err != nil {
			return nil, err
		}
	}
	in := checkInput{
		cfg: cfg, events: events, records: recs, faults: faults,
		orphans: orphans, orphanErr: orphanErr, stopErrs: stopErrs, harness: harness,
		nemesis: time.Duration(nemEnd - nemStart), stoppedAt: stoppedAt,
	}
	rep := check(in)
	rep.Wall = time.Since(wallStart)
	return rep, nil
}

func writeEvents(path string, events []proto.Event) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, ev := range events {
		if err := enc.Encode(ev); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// leftovers lists, once they stop changing or after a deadline, the nodes
// left under dirs once every client has exited: their sessions were closed,
// so nothing should remain but the (container) directories themselves.
func leftovers(ctx context.Context, servers []string, dirs []string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers: servers, SessionTimeout: 10 * time.Second, // safe at either timings (session.MinSafeTimeout)
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Identity: "chaos-checker",
	})
	if err != nil {
		return nil, fmt.Errorf("chaos: connecting to list leftovers: %w", err)
	}
	defer m.Close()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		left, err := list(ctx, m, dirs)
		if err == nil && len(left) == 0 {
			return nil, nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			if err != nil {
				return left, err
			}
			return left, nil
		}
	}
}

func list(ctx context.Context, m *session.Manager, dirs []string) ([]string, error) {
	ep, err := m.Epoch(ctx)
	if err != nil {
		return nil, err
	}
	var left []string
	for _, d := range dirs {
		children, _, err := ep.Children(ctx, d)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		slices.Sort(children)
		for _, c := range children {
			p := d + "/" + c
			ok, stat, err := ep.Exists(ctx, p)
			if err != nil {
				return nil, err
			}
			if ok {
				left = append(left, fmt.Sprintf("%s (ephemeral owner 0x%x)", p, stat.EphemeralOwner))
			}
		}
	}
	return left, nil
}
