// Package telemetry is how Kith is watched: Prometheus metrics (its own, the
// Temporal SDK's and the Go runtime's, on one registry served at /metrics) and
// OpenTelemetry traces (exported over OTLP when the standard OTEL_EXPORTER_OTLP_*
// variables say where; off otherwise). Metric label values are bounded: never an
// id, an address or a value from a request.
package telemetry
