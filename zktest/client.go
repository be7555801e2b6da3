package zktest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
)

// clientSessionTimeout is what zktest's own clients ask for; the servers
// clamp it to their limits.
const clientSessionTimeout = 2 * time.Second

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// withConn runs fn with a throwaway client connected straight to the
// servers. go-zookeeper requests take no context and wait for a connection
// indefinitely, so the client is closed when ctx ends, which fails whatever
// request is pending.
func (c *Cluster) withConn(ctx context.Context, fn func(*zk.Conn) error) error {
	conn, _, err := zk.Connect(c.addrs, clientSessionTimeout, zk.WithLogger(discardLogger{}), zk.WithLogInfo(false))
	if err != nil {
		return fmt.Errorf("zktest: connecting: %w", err)
	}
	stop := context.AfterFunc(ctx, conn.Close)
	defer func() {
		stop()
		conn.Close()
	}()
	return fn(conn)
}

// probe waits until a client can write (create and delete a node, which needs
// a quorum) or, with write false, read.
func (c *Cluster) probe(ctx context.Context, write bool) error {
	return c.withConn(ctx, func(conn *zk.Conn) error {
		return poll(ctx, func() error {
			err := probeOnce(conn, write)
			if errors.Is(err, zk.ErrClosing) {
				// Closed because ctx ended: report that, not the client.
				return permanent(fmt.Errorf("no client request answered: %w", context.Cause(ctx)))
			}
			return err
		})
	})
}

func probeOnce(conn *zk.Conn, write bool) error {
	if !write {
		_, _, err := conn.Exists("/")
		return err
	}
	path := "/zktest-probe-" + rand.Text()
	if _, err := conn.Create(path, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		return err
	}
	return conn.Delete(path, -1)
}
