package telemetry

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// TemporalMetrics is the Temporal SDK's metrics handler (workflow and activity
// task latencies, poll counts, failures, sticky cache …), reported on reg
// through the SDK's OpenTelemetry handler and OpenTelemetry's Prometheus
// exporter, as temporal_* metrics.
func TemporalMetrics(reg prometheus.Registerer) (client.MetricsHandler, error) {
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("temporal metrics: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(describeTemporal))
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                mp.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true, // counters, not up-down counters: they end in _total
		OnError:              func(error) {},
	}), nil
}

// TemporalTracing carries a trace across Temporal: the client's start, signal
// and update calls, the workflow and each activity get spans of one trace,
// linked through the workflow's headers.
func TemporalTracing(tp trace.TracerProvider) (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: tp.Tracer("go.temporal.io/sdk")})
}

// describeTemporal gives the SDK's instruments, which carry no description, a
// help text (Prometheus's checker wants one for every metric).
func describeTemporal(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	if i.Description != "" {
		return sdkmetric.Stream{}, false
	}
	help, ok := temporalHelp[i.Name]
	if !ok {
		help = "Temporal SDK metric " + i.Name + " (docs.temporal.io/references/sdk-metrics)."
	}
	return sdkmetric.Stream{Name: i.Name, Description: help, Unit: i.Unit}, true
}

// temporalHelp describes the SDK's metrics a worker and a client report most.
var temporalHelp = map[string]string{
	"temporal_request":                                 "Requests from the SDK to the Temporal service.",
	"temporal_request_failure":                         "Requests from the SDK to the Temporal service that failed.",
	"temporal_request_latency":                         "Latency of the SDK's requests to the Temporal service.",
	"temporal_request_attempt":                         "Attempts of the SDK's requests (retries included).",
	"temporal_request_latency_attempt":                 "Latency of each attempt of the SDK's requests.",
	"temporal_long_request":                            "Long-poll requests from the SDK to the Temporal service.",
	"temporal_long_request_failure":                    "Long-poll requests that failed.",
	"temporal_long_request_latency":                    "Latency of long-poll requests.",
	"temporal_long_request_attempt":                    "Attempts of long-poll requests.",
	"temporal_long_request_latency_attempt":            "Latency of each attempt of a long-poll request.",
	"temporal_workflow_completed":                      "Workflow executions this worker completed.",
	"temporal_workflow_failed":                         "Workflow executions this worker failed.",
	"temporal_workflow_canceled":                       "Workflow executions cancelled.",
	"temporal_workflow_continue_as_new":                "Workflow executions that continued as new.",
	"temporal_workflow_endtoend_latency":               "Time from a workflow execution's start to its close.",
	"temporal_workflow_task_execution_latency":         "Time a workflow task took to run on this worker.",
	"temporal_workflow_task_execution_failed":          "Workflow tasks that failed (a panic or non-determinism).",
	"temporal_workflow_task_replay_latency":            "Time a workflow task spent replaying history.",
	"temporal_workflow_task_schedule_to_start_latency": "Time workflow tasks waited in the task queue: high means too few workers.",
	"temporal_workflow_task_queue_poll_succeed":        "Workflow task polls that got a task.",
	"temporal_workflow_task_queue_poll_empty":          "Workflow task polls that got none.",
	"temporal_activity_execution_latency":              "Time an activity attempt took to run on this worker.",
	"temporal_activity_execution_failed":               "Activity attempts that failed.",
	"temporal_activity_schedule_to_start_latency":      "Time activity tasks waited in the task queue: high means too few workers.",
	"temporal_activity_succeed_endtoend_latency":       "Time from an activity's schedule to its success, retries included.",
	"temporal_activity_poll_no_task":                   "Activity task polls that got none.",
	"temporal_local_activity_total":                    "Local activities run.",
	"temporal_local_activity_execution_latency":        "Time a local activity took.",
	"temporal_num_pollers":                             "Pollers this worker runs, by poller type.",
	"temporal_poller_start":                            "Pollers started.",
	"temporal_worker_start":                            "Workers started.",
	"temporal_worker_task_slots_available":             "Task slots free on this worker, by worker type.",
	"temporal_worker_task_slots_used":                  "Task slots in use on this worker, by worker type.",
	"temporal_sticky_cache_hit":                        "Workflow tasks served from the sticky cache.",
	"temporal_sticky_cache_miss":                       "Workflow tasks that missed the sticky cache (a replay).",
	"temporal_sticky_cache_size":                       "Workflows held in the sticky cache.",
	"temporal_sticky_cache_total_forced_eviction":      "Workflows evicted from a full sticky cache.",
	"temporal_sticky_cache_forced_eviction":            "Workflows evicted from a full sticky cache.",
	"temporal_corrupted_signals":                       "Signals that could not be decoded.",
}
