package main

import (
	"context"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/mutex"
)

// Keys of the uncontended operations, in the report's order.
const (
	opFloor     = "floor"
	opFloorSeq  = "floor-seq"
	opSession   = "session"
	opPipelined = "pipelined"
	opRead      = "read"
	opZkcoord   = "zkcoord"
	opZkLock    = "zklock"
)

type uncontendedResult struct {
	server        string // the one server every client of this scenario uses
	role          string // its mode: leader, follower, standalone, unknown
	rounds, block int
	ops           []opResult
}

type opResult struct {
	key, name string
	sum       summary
	wire      shapes // from a traced pass after the timed rounds
}

func (r uncontendedResult) get(key string) summary {
	for _, o := range r.ops {
		if o.key == key {
			return o.sum
		}
	}
	return summary{}
}

type timedOp struct {
	key, name string
	run       func(ctx context.Context) error
}

// runUncontended measures one client doing each operation alone, in blocks
// that take turns (block of floor, block of session, ..., repeat), so that
// whatever the machine does meanwhile (other processes, JIT, GC, the
// servers' log rolls) lands on every operation alike. A first round warms
// up the JVMs and connections and is not recorded.
func runUncontended(ctx context.Context, e *env, cfg config, server, role string) (uncontendedResult, error) {
	res := uncontendedResult{server: server, role: role, rounds: cfg.rounds, block: cfg.block}
	m, err := e.manager(ctx, server, "zkbench/uncontended")
	if err != nil {
		return res, err
	}
	defer m.Close()
	c, err := e.conn(ctx, server)
	if err != nil {
		return res, err
	}
	defer c.Close()

	dir := func(k string) string { return e.root + "/uncontended/" + k }
	for _, k := range []string{opFloor, opFloorSeq, opSession, opPipelined, opRead, opZkcoord, opZkLock} {
		if err := ensurePath(c, dir(k)); err != nil {
			return res, err
		}
	}
	// The lock's listing returns one child, its own node: the read
	// measured alone lists one child too.
	if _, err := c.Create(dir(opRead)+"/child", nil, 0, openACL); err != nil {
		return res, err
	}
	mu, err := mutex.New(m, dir(opZkcoord))
	if err != nil {
		return res, err
	}
	zl := zk.NewLock(c, dir(opZkLock), openACL)

	ops := []timedOp{
		{opFloor, "floor: go-zookeeper Create+Delete (persistent node)", func(context.Context) error {
			p := dir(opFloor) + "/n"
			if _, err := c.Create(p, nil, 0, openACL); err != nil {
				return err
			}
			return c.Delete(p, -1)
		}},
		// The floor again with the lock's kind of node, to tell its cost
		// from that of anything else a lock does.
		{opFloorSeq, "floor, ephemeral sequential node (as a lock's)", func(context.Context) error {
			p, err := c.Create(dir(opFloorSeq)+"/n-", nil, zk.FlagEphemeral|zk.FlagSequence, openACL)
			if err != nil {
				return err
			}
			return c.Delete(p, -1)
		}},
		{opSession, "zkcoord session: Epoch.Create+Delete (same node)", func(ctx context.Context) error {
			ep, err := m.Epoch(ctx)
			if err != nil {
				return err
			}
			p := dir(opSession) + "/n"
			if _, err := ep.Create(ctx, p, nil, 0, openACL); err != nil {
				return err
			}
			return ep.Delete(ctx, p, -1)
		}},
		// What zkcoord's mutex sends, without the recipe around it: the
		// difference to the mutex is the recipe's own cost.
		{opPipelined, "zkcoord session: Epoch.CreateAndList+Delete (ephemeral sequential)", func(ctx context.Context) error {
			ep, err := m.Epoch(ctx)
			if err != nil {
				return err
			}
			p, _, _, err := ep.CreateAndList(ctx, dir(opPipelined)+"/n-", nil, zk.FlagEphemeral|zk.FlagSequence, openACL)
			if err != nil {
				return err
			}
			return ep.Delete(ctx, p, -1)
		}},
		{opRead, "one read: go-zookeeper Children (1 child)", func(context.Context) error {
			_, _, err := c.Children(dir(opRead))
			return err
		}},
		{opZkcoord, "zkcoord mutex Lock+Unlock", func(ctx context.Context) error {
			l, err := mu.Lock(ctx)
			if err != nil {
				return err
			}
			return l.Unlock(ctx)
		}},
		{opZkLock, "go-zookeeper zk.Lock Lock+Unlock", func(context.Context) error {
			if err := zl.Lock(); err != nil {
				return err
			}
			return zl.Unlock()
		}},
	}

	samples := make([][]time.Duration, len(ops))
	for round := -1; round < cfg.rounds; round++ {
		warm := round < 0
		for j := range ops {
			// Rotate which operation opens the round, so none always
			// follows the same one.
			i := (j + max(round, 0)) % len(ops)
			for range cfg.block {
				t0 := time.Now()
				if err := ops[i].run(ctx); err != nil {
					return res, fmt.Errorf("uncontended %s: %w", ops[i].key, err)
				}
				if !warm {
					samples[i] = append(samples[i], time.Since(t0))
				}
			}
		}
		if !warm {
			e.progress("uncontended: round %d/%d", round+1, cfg.rounds)
		}
	}
	// One more block of each, each operation in a trace window of its own:
	// not timed, so recording costs the figures nothing.
	for i, op := range ops {
		var ss []shape
		for range cfg.block {
			done := e.trace.window()
			err := op.run(ctx)
			ev := done()
			if err != nil {
				return res, fmt.Errorf("uncontended %s: %w", op.key, err)
			}
			ss = append(ss, shapeOf(ev))
		}
		res.ops = append(res.ops, opResult{key: op.key, name: op.name, sum: summarize(samples[i]), wire: summarizeShapes(ss)})
	}
	return res, nil
}
