package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
)

// EventRelayName is the wire name of EventRelay; EventRelayID its one workflow.
const (
	EventRelayName = "EventRelay"
	EventRelayID   = "event-relay"
)

// EventRelayStartOptions start the relay once: a worker that finds it running
// joins it.
func EventRelayStartOptions() client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       EventRelayID,
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// EventRelayInput configures the relay; the zero value runs the defaults.
type EventRelayInput struct {
	// DrainFor is how long one drain activity runs (default 10 min); Runs how
	// many drains a run does before it continues as new (default 144, a day).
	DrainFor time.Duration `json:"drain_for,omitempty"`
	Runs     int           `json:"runs,omitempty"`
	// Signalled counts across runs.
	Signalled int `json:"signalled,omitempty"`
}

// relayOptions: a drain runs for minutes and heartbeats after every batch; a
// dead worker is noticed within 30 s and the drain resumes on another (the
// outbox holds what was not yet signalled). Retried for ever: the relay must
// outlive a database or Temporal outage.
var relayOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Hour,
	HeartbeatTimeout:    30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// EventRelay brings the events the API queued (the event outbox) to their
// contacts' workflows within seconds: one long drain activity after another,
// continuing as new daily so its history stays small.
func EventRelay(ctx workflow.Context, in EventRelayInput) error {
	if in.DrainFor <= 0 {
		in.DrainFor = 10 * time.Minute
	}
	if in.Runs <= 0 {
		in.Runs = 144
	}
	ctx = workflow.WithActivityOptions(ctx, relayOptions)
	var a *activities.Relay
	for range in.Runs {
		var res activities.RelayResult
		if err := workflow.ExecuteActivity(ctx, a.Drain, activities.RelayInput{For: in.DrainFor}).Get(ctx, &res); err != nil {
			return err
		}
		in.Signalled += res.Signalled
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			break
		}
	}
	return workflow.NewContinueAsNewError(ctx, EventRelayName, in)
}
