package telemetry

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
)

// Process is one Kith process's telemetry: its metrics registry (served on
// MetricsAddr when set) and its tracer provider.
type Process struct {
	Registry *prometheus.Registry
	Tracer   trace.TracerProvider
	// MetricsURL is where /metrics is served ("" when it is not).
	MetricsURL string

	temporalMetrics client.MetricsHandler
	temporalTracing interceptor.Interceptor
	shutdown        func(context.Context) error
}

// Start sets up a process's telemetry: the registry with the Temporal SDK's
// metrics, /metrics on metricsAddr (none when empty), and tracing as the
// OTEL_* variables configure it. Close flushes the spans in hand.
func Start(ctx context.Context, service, metricsAddr string, getenv func(string) string, log *slog.Logger) (*Process, error) {
	p := &Process{Registry: NewRegistry()}
	var err error
	if p.temporalMetrics, err = TemporalMetrics(p.Registry); err != nil {
		return nil, err
	}
	if p.Tracer, p.shutdown, err = Tracing(ctx, service, getenv); err != nil {
		return nil, err
	}
	if p.temporalTracing, err = TemporalTracing(p.Tracer); err != nil {
		return nil, err
	}
	if metricsAddr != "" {
		addr, err := Serve(ctx, metricsAddr, p.Registry, log)
		if err != nil {
			return nil, err
		}
		p.MetricsURL = "http://" + addr + "/metrics"
		log.Info("metrics served", "url", p.MetricsURL)
	}
	return p, nil
}

// Temporal adds the SDK's metrics and the tracing interceptor to a client's
// options (a worker made from the client inherits both).
func (p *Process) Temporal(o *client.Options) {
	o.MetricsHandler = p.temporalMetrics
	o.Interceptors = append(o.Interceptors, p.temporalTracing)
}

// Close flushes and stops the trace exporter.
func (p *Process) Close(ctx context.Context) error { return p.shutdown(ctx) }
