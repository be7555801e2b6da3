package otelmetrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/otelmetrics"
	"github.com/zkcoord/zkcoord/rwlock"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestMain(m *testing.M) { zktest.RunMain(m) }

func TestMetricsReadBack(t *testing.T) {
	c := zktest.Shared(t)
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	metrics, err := otelmetrics.New(provider)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := session.New(ctx, session.Config{Servers: c.Servers(), SessionTimeout: 8 * time.Second, Logger: testutil.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	watching := make(chan struct{})
	wctx, stopWatching := context.WithCancel(ctx)
	go func() { defer close(watching); metrics.WatchSession(wctx, m) }()
	defer func() { stopWatching(); <-watching; m.Close() }()

	dir := "/zkcoord-test/otelmetrics/lock"
	lock, err := mutex.New(m, dir, mutex.WithObserver(metrics.Observer()))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		l, err := lock.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		l.Unlock(ctx)
	}
	// One loss: the lock node deleted under its holder.
	l, err := lock.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := m.Epoch(ctx)
	if err := ep.Delete(ctx, l.Path(), -1); err != nil && err != zk.ErrNoNode {
		t.Fatal(err)
	}
	<-l.Done()
	l.Unlock(ctx)

	// Every recipe reports through the same observer: one read lease.
	rw, err := rwlock.New(m, "/zkcoord-test/otelmetrics/rw", rwlock.WithObserver(metrics.Observer()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := rw.RLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.RUnlock(ctx)

	want := map[string]int64{
		"zkcoord.acquisitions":              5,
		"zkcoord.losses/deleted":            1,
		"zkcoord.wait.duration/acquired":    5,
		"zkcoord.hold.duration/released":    4,
		"zkcoord.hold.duration/lost":        1,
		"zkcoord.queue.length":              5,
		"zkcoord.session.changes/connected": 1,
	}
	// Session changes reach the counter through a subscription, a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, missing := collect(t, ctx, reader), ""
		for k, v := range want {
			if got[k] != v {
				missing += fmt.Sprintf(" %s=%d (want %d)", k, got[k], v)
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics read back:%s; all: %v", missing, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
func collect(t *testing.T, ctx context.Context, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch d := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					key := mt.Name
					if v, ok := p.Attributes.Value("cause"); ok {
						key += "/" + v.AsString()
					}
					if v, ok := p.Attributes.Value("state"); ok {
						key += "/" + v.AsString()
					}
					got[key] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					key := mt.Name
					if v, ok := p.Attributes.Value("outcome"); ok {
						key += "/" + v.AsString()
					}
					got[key] += int64(p.Count)
				}
			}
		}
	}
	return got
}
