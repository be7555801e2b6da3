// Last-item sells the last items in stock once each, however many buyers
// press "buy" at the same moment.
//
// The stock count is a znode. A buyer takes the lock, reads the count, and
// writes count-1 with lease.Guard: one transaction that applies only if the
// buyer still holds the lock, and only to the version of the count it read.
// So the stock changes only under the lock, from the value its holder saw:
// a buyer that lost the lock while deciding gets an error, not a sale.
//
//	ZK_SERVERS=127.0.0.1:2181 go run ./examples/last-item
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/examples/internal/harness"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/session"
)

const (
	stockPath = "/examples/last-item/stock"
	lockPath  = "/examples/last-item/lock"
	inStock   = 3
	buyers    = 8
)

func main() { harness.Main(run) }

func run(ctx context.Context, out io.Writer, servers []string) error {
	say := harness.Printer(out)
	shop, err := harness.Connect(ctx, servers, "shop")
	if err != nil {
		return err
	}
	defer shop.Close()
	if err := harness.Put(ctx, shop, stockPath, []byte(strconv.Itoa(inStock))); err != nil {
		return err
	}
	say("shop: %d in stock, %d buyers", inStock, buyers)

	var wg sync.WaitGroup
	errs := make([]error, buyers)
	for i := range buyers {
		wg.Go(func() { errs[i] = buy(ctx, say, servers, fmt.Sprintf("buyer-%d", i+1)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	ep, err := shop.Epoch(ctx)
	if err != nil {
		return err
	}
	data, _, err := ep.Get(ctx, stockPath)
	if err != nil {
		return err
	}
	say("shop: %s left in stock", data)
	return nil
}

func buy(ctx context.Context, say func(string, ...any), servers []string, name string) error {
	m, err := harness.Connect(ctx, servers, name)
	if err != nil {
		return err
	}
	defer m.Close()
	lock, err := mutex.New(m, lockPath)
	if err != nil {
		return err
	}
	lease, err := lock.Lock(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	err = sellOne(ctx, say, name, m, lease)
	if uerr := lease.Unlock(ctx); err == nil {
		err = uerr
	}
	return err
}

// sellOne sells an item if one is left, while lease holds the lock.
func sellOne(ctx context.Context, say func(string, ...any), name string, m *session.Manager, lease *mutex.Lease) error {
	ep, err := m.Epoch(ctx)
	if err != nil {
		return err
	}
	data, stat, err := ep.Get(ctx, stockPath)
	if err != nil {
		return err
	}
	stock, err := strconv.Atoi(string(data))
	if err != nil {
		return fmt.Errorf("%s: stock %q: %w", stockPath, data, err)
	}
	if stock <= 0 {
		say("%s: sold out", name)
		return nil
	}
	_, err = lease.Guard(ctx, &zk.SetDataRequest{
		Path: stockPath, Data: []byte(strconv.Itoa(stock - 1)), Version: stat.Version,
	})
	if err != nil {
		return fmt.Errorf("%s: sale not recorded: %w", name, err)
	}
	say("%s: bought one (token %d), %d left", name, lease.Token(), stock-1)
	return nil
}
