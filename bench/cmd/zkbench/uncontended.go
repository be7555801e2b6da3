package main

import (
	"context"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/rwlock"
)

// Keys of the uncontended operations, in the report's order.
const (
	opFloor     = "floor"
	opFloorSeq  = "floor-seq"
	opSession   = "session"
	opPipelined = "pipelined"
	opRead      = "read"
	opWrite     = "write" // one write alone: the unit of sections 3 and 7
	opZkcoord   = "zkcoord"
	opZkLock    = "zklock"
	opRLock     = "rlock"   // section 5: one reader alone
	opReaders   = "readers" // section 5: cfg.readers readers of one lock at once
	opMutexes   = "mutexes" // section 5: as many clients at once, a mutex each
)

type uncontendedResult struct {
	server        string // the one server every client of this scenario uses
	role          string // its mode: leader, follower, standalone, unknown
	rounds, block int
	readers       int // clients of the concurrent operations (section 5)
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

// blockOp is one kind of operation of the interleaved loop. timed does a
// block of n operations and returns their latencies; traced does the same
// untimed, each operation in a trace window of its own, and returns what
// each did on the wire.
type blockOp struct {
	key, name string
	timed     func(ctx context.Context, n int) ([]time.Duration, error)
	traced    func(ctx context.Context, n int) ([]shape, error)
}

// sequential is a blockOp of one client doing op n times in a row, traced
// by tr.
func sequential(tr *tracer, op timedOp) blockOp {
	return blockOp{key: op.key, name: op.name,
		timed: func(ctx context.Context, n int) ([]time.Duration, error) {
			d := make([]time.Duration, 0, n)
			for range n {
				t0 := time.Now()
				if err := op.run(ctx); err != nil {
					return nil, err
				}
				d = append(d, time.Since(t0))
			}
			return d, nil
		},
		traced: func(ctx context.Context, n int) ([]shape, error) {
			ss := make([]shape, 0, n)
			for range n {
				done := tr.window()
				err := op.run(ctx)
				ev := done()
				if err != nil {
					return nil, err
				}
				ss = append(ss, shapeOf(ev))
			}
			return ss, nil
		}}
}

// runUncontended measures one client doing each operation alone, in blocks
// that take turns (block of floor, block of session, ..., repeat), so that
// whatever the machine does meanwhile (other processes, JIT, GC, the
// servers' log rolls) lands on every operation alike. A first round warms
// up the JVMs and connections and is not recorded. Section 5's operations
// of several clients at once (readers of one rwlock, and as many mutexes,
// one each) take their turns in the same loop, so that their ratios to the
// mutex alone are as drift-proof as the others.
func runUncontended(ctx context.Context, e *env, cfg config, ps *peerSet, server, role string) (uncontendedResult, error) {
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
	for _, k := range []string{opFloor, opFloorSeq, opSession, opPipelined, opRead, opWrite, opZkcoord, opZkLock,
		opCuratorFloor, opCuratorMutex, opKazooFloor, opKazooMutex} {
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
			p, _, _, _, err := ep.CreateAndList(ctx, dir(opPipelined)+"/n-", nil, zk.FlagEphemeral|zk.FlagSequence, openACL)
			if err != nil {
				return err
			}
			return ep.Delete(ctx, p, -1)
		}},
		{opRead, "one read: go-zookeeper Children (1 child)", func(context.Context) error {
			_, _, err := c.Children(dir(opRead))
			return err
		}},
		{opWrite, "one write: go-zookeeper SetData (persistent node)", func(context.Context) error {
			_, err := c.Set(dir(opWrite), nil, -1)
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

	// Section 5: the same follower, one session per concurrent client,
	// each traced by a tracer of its own.
	group, err := openGroup(ctx, e, server, cfg.readers)
	if err != nil {
		return res, err
	}
	defer group.close()
	res.readers = cfg.readers
	for _, k := range []string{opRLock, opReaders} {
		if err := ensurePath(c, dir(k)); err != nil {
			return res, err
		}
	}
	for i := range cfg.readers {
		if err := ensurePath(c, fmt.Sprintf("%s/%d", dir(opMutexes), i)); err != nil {
			return res, err
		}
	}
	rw, err := rwlock.New(m, dir(opRLock))
	if err != nil {
		return res, err
	}
	ops = append(ops, timedOp{opRLock, "zkcoord rwlock RLock+RUnlock, one reader alone", func(ctx context.Context) error {
		l, err := rw.RLock(ctx)
		if err != nil {
			return err
		}
		return l.RUnlock(ctx)
	}})
	var blocks []blockOp
	for _, op := range ops {
		blocks = append(blocks, sequential(e.trace, op))
	}
	// The peers' clients, on the same server, take their turns too.
	blocks = append(blocks, peerBlocks(e, ps, dir)...)
	readers, err := group.readers(dir(opReaders))
	if err != nil {
		return res, err
	}
	mutexes, err := group.mutexes(dir(opMutexes))
	if err != nil {
		return res, err
	}
	blocks = append(blocks,
		group.concurrent(opReaders, fmt.Sprintf("zkcoord rwlock RLock+RUnlock, %d concurrent readers of one lock", cfg.readers), readers),
		group.concurrent(opMutexes, fmt.Sprintf("zkcoord mutex Lock+Unlock, %d concurrent clients, a mutex each", cfg.readers), mutexes))

	samples := make([][]time.Duration, len(blocks))
	for round := -1; round < cfg.rounds; round++ {
		warm := round < 0
		for j := range blocks {
			// Rotate which operation opens the round, so none always
			// follows the same one.
			i := (j + max(round, 0)) % len(blocks)
			d, err := blocks[i].timed(ctx, cfg.block)
			if err != nil {
				return res, fmt.Errorf("uncontended %s: %w", blocks[i].key, err)
			}
			if !warm {
				samples[i] = append(samples[i], d...)
			}
		}
		if !warm {
			e.progress("uncontended: round %d/%d", round+1, cfg.rounds)
		}
	}
	// One more block of each, each operation in a trace window of its own:
	// not timed, so recording costs the figures nothing.
	for i, b := range blocks {
		ss, err := b.traced(ctx, cfg.block)
		if err != nil {
			return res, fmt.Errorf("uncontended %s: %w", b.key, err)
		}
		res.ops = append(res.ops, opResult{key: b.key, name: b.name, sum: summarize(samples[i]), wire: summarizeShapes(ss)})
	}
	return res, nil
}
