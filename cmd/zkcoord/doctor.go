package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/session"
)

func (a *app) doctorCmd() *cobra.Command {
	var timeout, margin time.Duration
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Say whether a session timeout and safety margin are safe for the ensemble's timings",
		Long: `Read each server's timings (ZooKeeper's conf four-letter word: tickTime,
syncLimit, initLimit, session timeout bounds) and say whether a session of
--session-timeout with --margin (0: the library's default, a quarter of the
timeout and at least a tick) keeps the loss signal ahead of any takeover.

The rules (session/doc.go gives the argument): the margin must be at least
the tickTime, and the session timeout at least margin + 2.75 × tickTime.
When conf is not allowed (add it to 4lw.commands.whitelist), the servers'
timings are unknown and ZooKeeper's shipped tickTime (2s) is assumed, as
session.New assumes it: set session.Config.TickTime if yours is longer.

Exit code 0 when the configuration is safe, 1 when it is not or no server
answered. --json prints {"servers": [{"address", "tick_time_ms",
"sync_limit", "init_limit", "min_session_timeout_ms",
"max_session_timeout_ms", "error"}], "tick_time_ms", "assumed",
"session_timeout_ms", "margin_ms", "granted_timeout_ms", "safe",
"min_safe_timeout_ms", "problems", "notes"}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := a.resolveServers(a.ensembleDir())
			if err != nil {
				return err
			}
			if timeout <= 0 {
				return usageErr("--session-timeout must be > 0, not %v", timeout)
			}
			if margin < 0 {
				return usageErr("--margin must be >= 0, not %v", margin)
			}
			r := diagnose(cmd.Context(), t.servers, timeout, margin, a.timeout)
			if a.json {
				a.printJSON(r)
			} else {
				r.print(a.stdout)
			}
			if !r.Safe {
				return failure(kindOther, "not safe: %s", r.Problems[0])
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "session-timeout", 10*time.Second, "the session timeout your services ask for")
	cmd.Flags().DurationVar(&margin, "margin", 0, "session.Config.SafetyMargin (0: the default)")
	return cmd
}

type doctorServer struct {
	Address      string `json:"address"`
	TickTimeMs   int64  `json:"tick_time_ms,omitempty"`
	SyncLimit    int    `json:"sync_limit,omitempty"`
	InitLimit    int    `json:"init_limit,omitempty"`
	MinSessionMs int64  `json:"min_session_timeout_ms,omitempty"`
	MaxSessionMs int64  `json:"max_session_timeout_ms,omitempty"`
	Error        string `json:"error,omitempty"`
}

// doctorReport is what `zkcoord doctor` prints; its JSON names are stable.
type doctorReport struct {
	Servers          []doctorServer `json:"servers"`
	TickTimeMs       int64          `json:"tick_time_ms"`
	Assumed          bool           `json:"assumed"` // no server said its tickTime
	SessionTimeoutMs int64          `json:"session_timeout_ms"`
	MarginMs         int64          `json:"margin_ms"`
	GrantedMs        int64          `json:"granted_timeout_ms"` // after the servers' bounds
	Safe             bool           `json:"safe"`
	MinSafeMs        int64          `json:"min_safe_timeout_ms"`
	Problems         []string       `json:"problems,omitempty"` // why it is not safe
	Notes            []string       `json:"notes,omitempty"`
}

func diagnose(ctx context.Context, servers []string, timeout, margin, each time.Duration) doctorReport {
	r := doctorReport{SessionTimeoutMs: timeout.Milliseconds()}
	var tick, minS, maxS time.Duration
	for _, s := range servers {
		c, cancel := context.WithTimeout(ctx, each)
		conf, err := session.ReadConf(c, []string{s}, nil)
		cancel()
		ds := doctorServer{Address: s}
		if err != nil {
			ds.Error = err.Error()
		} else {
			ds.TickTimeMs, ds.SyncLimit, ds.InitLimit = conf.TickTime.Milliseconds(), conf.SyncLimit, conf.InitLimit
			ds.MinSessionMs, ds.MaxSessionMs = conf.MinSessionTimeout.Milliseconds(), conf.MaxSessionTimeout.Milliseconds()
			if tick != 0 && conf.TickTime != tick {
				r.Notes = append(r.Notes, fmt.Sprintf("servers disagree on tickTime (%v and %v): the longest counts", tick, conf.TickTime))
			}
			tick = max(tick, conf.TickTime)
			minS = max(minS, conf.MinSessionTimeout)
			if maxS == 0 || (conf.MaxSessionTimeout > 0 && conf.MaxSessionTimeout < maxS) {
				maxS = conf.MaxSessionTimeout
			}
		}
		r.Servers = append(r.Servers, ds)
	}
	if tick == 0 {
		tick, r.Assumed = session.ShippedTickTime, true
	}
	granted := timeout
	if minS > 0 && granted < minS {
		granted = minS
	}
	if maxS > 0 && granted > maxS {
		granted = maxS
	}
	m := margin
	if m == 0 {
		m = max(granted/4, tick)
	}
	r.TickTimeMs, r.GrantedMs, r.MarginMs = tick.Milliseconds(), granted.Milliseconds(), m.Milliseconds()
	r.MinSafeMs = session.MinSafeTimeout(margin, tick).Milliseconds()
	if m < tick {
		r.Problems = append(r.Problems, fmt.Sprintf("margin %v is below the tickTime %v: use --margin >= %v", m, tick, tick))
	}
	if need := session.MinSafeTimeout(margin, tick); granted < need {
		r.Problems = append(r.Problems, fmt.Sprintf("session timeout %v (granted) is below %v, the shortest safe one at tickTime %v with margin %v", granted, need, tick, m))
	}
	if granted != timeout {
		r.Notes = append(r.Notes, fmt.Sprintf("the servers clamp a %v session timeout to %v", timeout, granted))
	}
	r.Safe = len(r.Problems) == 0
	return r
}

func (r doctorReport) print(w io.Writer) {
	for _, s := range r.Servers {
		if s.Error != "" {
			fmt.Fprintf(w, "%-22s  conf refused or unreachable: %s\n", s.Address, s.Error)
			continue
		}
		fmt.Fprintf(w, "%-22s  tickTime %dms  syncLimit %d  initLimit %d  sessions %dms..%dms\n",
			s.Address, s.TickTimeMs, s.SyncLimit, s.InitLimit, s.MinSessionMs, s.MaxSessionMs)
	}
	if r.Assumed {
		fmt.Fprintf(w, "no server told its tickTime: assuming ZooKeeper's shipped %dms (set session.Config.TickTime if yours is longer)\n", r.TickTimeMs)
	}
	fmt.Fprintf(w, "session timeout %dms (granted %dms), margin %dms: ", r.SessionTimeoutMs, r.GrantedMs, r.MarginMs)
	if r.Safe {
		fmt.Fprintf(w, "safe (the shortest safe timeout is %dms)\n", r.MinSafeMs)
	} else {
		fmt.Fprintln(w, "NOT safe")
	}
	for _, p := range append(r.Problems, r.Notes...) {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}
