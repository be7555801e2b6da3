package session

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ShippedTickTime is ZooKeeper's tickTime as shipped (zoo_sample.cfg,
// Debian's zoo.cfg), assumed when the servers do not say theirs.
const ShippedTickTime = 2 * time.Second

// safetyMargin is the margin in force: the configured one, or a quarter of
// the timeout and at least a tick.
func safetyMargin(timeout, configured, tick time.Duration) time.Duration {
	if configured > 0 {
		return configured
	}
	return max(timeout/4, tick)
}

// MinSafeTimeout is the shortest session timeout whose safe deadline can be
// kept with the given margin (0: the default) and tickTime: the deadline
// trails the present by up to 1.75 ticks (leaderProof's gap plus three
// heartbeats of a quarter tick), and a further tick is left for a late
// reply, so timeout ≥ margin + 2.75 × tick.
func MinSafeTimeout(margin, tick time.Duration) time.Duration {
	trail := 2*tick + 3*heartbeatEvery(tick) // 2.75 ticks, but for very short ticks
	if margin > 0 {
		return margin + trail
	}
	// With the default margin max(timeout/4, tick): the tick wins below 4 ticks.
	return tick + trail
}

// checkTimeout says whether a session of this timeout can keep its safe
// deadline, and if not, which timeout or margin would.
func checkTimeout(timeout, margin, tick time.Duration) error {
	m := safetyMargin(timeout, margin, tick)
	if m < tick {
		return fmt.Errorf("%w: SafetyMargin %v is below the ensemble's tickTime %v: a leader cut off from its quorum answers for up to 1.5 ticks after its successor starts counting the session's timeout; use SafetyMargin >= %v",
			ErrInvalidConfig, m, tick, tick)
	}
	if need := MinSafeTimeout(margin, tick); timeout < need {
		return fmt.Errorf("%w: a session timeout of %v (SafetyMargin %v, tickTime %v) leaves no room for the safe deadline: use a session timeout of at least %v (SafetyMargin + 2.75 × tickTime)",
			ErrInvalidConfig, timeout, m, tick, need)
	}
	return nil
}

// learnTickTime sets the manager's tick: the configured one, else what the
// first server to answer "conf" says, else ZooKeeper's shipped value.
func (m *Manager) learnTickTime() {
	if m.cfg.TickTime > 0 {
		m.tick.Store(int64(m.cfg.TickTime))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(2*time.Second, m.cfg.SessionTimeout))
	defer cancel()
	go func() {
		select {
		case <-m.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	conf, err := ReadConf(ctx, m.cfg.Servers, m.cfg.Dialer)
	if tick := conf.TickTime; err == nil && tick > 0 {
		m.tick.Store(int64(tick))
		return
	}
	m.tick.Store(int64(ShippedTickTime))
	m.logAsync(func(l *slog.Logger) {
		l.Info("ensemble's tickTime unknown: assuming ZooKeeper's shipped value; set session.Config.TickTime to say",
			"tick_time", ShippedTickTime, "err", err)
	})
}

// ServerConf is what a server's "conf" four-letter word says of its timings.
type ServerConf struct {
	Server            string
	TickTime          time.Duration
	SyncLimit         int // ticks
	InitLimit         int // ticks
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
}

// ReadConf asks the servers for their configuration (the "conf"
// four-letter word, which must be in the servers' 4lw.commands.whitelist)
// and returns the first answer. dial may be nil (net.DialTimeout).
func ReadConf(ctx context.Context, servers []string, dial func(network, address string, timeout time.Duration) (net.Conn, error)) (ServerConf, error) {
	if dial == nil {
		dial = net.DialTimeout
	}
	type result struct {
		conf ServerConf
		err  error
	}
	results := make(chan result, len(servers))
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := readConf(ctx, s, dial)
			results <- result{c, err}
		}()
	}
	defer wg.Wait()
	var errs []string
	for range servers {
		select {
		case r := <-results:
			if r.err == nil {
				return r.conf, nil
			}
			errs = append(errs, r.err.Error())
		case <-ctx.Done():
			return ServerConf{}, fmt.Errorf("zkcoord/session: conf: %w", ctx.Err())
		}
	}
	return ServerConf{}, fmt.Errorf("zkcoord/session: conf: %s", strings.Join(errs, "; "))
}

func readConf(ctx context.Context, server string, dial func(string, string, time.Duration) (net.Conn, error)) (ServerConf, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	c, err := dial("tcp", server, time.Until(deadline))
	if err != nil {
		return ServerConf{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	c.SetDeadline(deadline)
	if _, err := c.Write([]byte("conf")); err != nil {
		return ServerConf{}, fmt.Errorf("%s: %w", server, err)
	}
	conf := ServerConf{Server: server}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch k {
		case "tickTime":
			conf.TickTime = time.Duration(n) * time.Millisecond
		case "syncLimit":
			conf.SyncLimit = n
		case "initLimit":
			conf.InitLimit = n
		case "minSessionTimeout":
			conf.MinSessionTimeout = time.Duration(n) * time.Millisecond
		case "maxSessionTimeout":
			conf.MaxSessionTimeout = time.Duration(n) * time.Millisecond
		}
	}
	if conf.TickTime <= 0 {
		if err := sc.Err(); err != nil {
			return ServerConf{}, fmt.Errorf("%s: %w", server, err)
		}
		return ServerConf{}, fmt.Errorf("%s: no tickTime in the answer to conf (is conf in 4lw.commands.whitelist?)", server)
	}
	return conf, nil
}
