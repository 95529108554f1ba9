package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
)

// RetentionName is the wire name of Retention.
const RetentionName = "Retention"

// Retention deletes what Kith keeps only for a while (events past the
// retention age, anonymous callers' quarantine budgets after a week), in
// batches that heartbeat their counts: a crash resumes it, and deleting by age
// again is harmless. Scheduled nightly (schemas/schedules.json); BigQuery's
// fact_event partitions expire at the same age on their own.
func Retention(ctx workflow.Context, in activities.RetentionInput) (activities.RetentionResult, error) {
	var a *activities.Retention
	var res activities.RetentionResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, cleaningBatchOptions), a.DeleteExpired, in).Get(ctx, &res)
	return res, err
}
