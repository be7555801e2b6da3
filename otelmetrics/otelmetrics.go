// Package otelmetrics records zkcoord's recipes and sessions as
// OpenTelemetry metrics. It is a separate package so that the core carries
// no OpenTelemetry dependency.
//
//	metrics, err := otelmetrics.New(otel.GetMeterProvider())
//	lock, err := mutex.New(m, "/jobs/payments", mutex.WithObserver(metrics.Observer()))
//	go metrics.WatchSession(ctx, m)
//
// Instruments (attributes in brackets):
//
//	zkcoord.wait.duration     histogram, s  time queued [recipe, path, outcome=acquired|abandoned]
//	zkcoord.hold.duration     histogram, s  time held [recipe, path, outcome=released|lost]
//	zkcoord.queue.length      histogram     contenders when granted [recipe, path]
//	zkcoord.acquisitions      counter       [recipe, path]
//	zkcoord.losses            counter       [recipe, path, cause=expired|safe_deadline|closed|deleted|other]
//	zkcoord.session.changes   counter       [state]
package otelmetrics

import (
	"context"
	"errors"
	"strings"

	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metrics holds the instruments.
type Metrics struct {
	wait, hold, queue    metric.Float64Histogram
	acquisitions, losses metric.Int64Counter
	sessionChanges       metric.Int64Counter
}

// New creates the instruments on mp's meter "github.com/zkcoord/zkcoord".
func New(mp metric.MeterProvider) (*Metrics, error) {
	meter := mp.Meter("github.com/zkcoord/zkcoord")
	var m Metrics
	var errs []error
	hist := func(name, unit, desc string) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return h
	}
	count := func(name, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	m.wait = hist("zkcoord.wait.duration", "s", "Time a contender queued before it was granted or gave up.")
	m.hold = hist("zkcoord.hold.duration", "s", "Time a lease was held.")
	m.queue = hist("zkcoord.queue.length", "{contender}", "Contenders in the queue when a lease was granted.")
	m.acquisitions = count("zkcoord.acquisitions", "Leases granted.")
	m.losses = count("zkcoord.losses", "Leases that ended without a release.")
	m.sessionChanges = count("zkcoord.session.changes", "Session state changes.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &m, nil
}

// Observer is the recipes.Observer to pass to a recipe's WithObserver.
func (m *Metrics) Observer() recipes.Observer {
	return func(e recipes.Event) {
		ctx := context.Background()
		base := []attribute.KeyValue{attribute.String("recipe", e.Recipe), attribute.String("path", e.Path)}
		with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
			return metric.WithAttributes(append(append([]attribute.KeyValue(nil), base...), kv...)...)
		}
		switch e.What {
		case recipes.Acquired:
			m.wait.Record(ctx, e.Wait.Seconds(), with(attribute.String("outcome", "acquired")))
			m.queue.Record(ctx, float64(e.Queue), with())
			m.acquisitions.Add(ctx, 1, with())
		case recipes.Abandoned:
			m.wait.Record(ctx, e.Wait.Seconds(), with(attribute.String("outcome", "abandoned")))
		case recipes.Released:
			m.hold.Record(ctx, e.Held.Seconds(), with(attribute.String("outcome", "released")))
		case recipes.Lost:
			m.hold.Record(ctx, e.Held.Seconds(), with(attribute.String("outcome", "lost")))
			m.losses.Add(ctx, 1, with(attribute.String("cause", cause(e.Err))))
		}
	}
}

func cause(err error) string {
	switch {
	case errors.Is(err, session.ErrExpired):
		return "expired"
	case errors.Is(err, session.ErrSafeDeadline):
		return "safe_deadline"
	case errors.Is(err, session.ErrClosed):
		return "closed"
	case err != nil && strings.Contains(err.Error(), "deleted"):
		return "deleted"
	}
	return "other"
}

// WatchSession counts m's state changes until ctx ends or m is closed.
func (m *Metrics) WatchSession(ctx context.Context, mgr *session.Manager) {
	for c := range mgr.Subscribe(ctx) {
		m.sessionChanges.Add(ctx, 1, metric.WithAttributes(attribute.String("state", c.State.String())))
	}
}
