package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
)

// DeduplicateName is the wire name of Deduplicate.
const DeduplicateName = "Deduplicate"

// dedupOptions: one resolution of every active contact takes about a minute per
// million contacts plus the merges it writes; retried from scratch on failure,
// which is safe because merges are applied once.
var dedupOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    10 * time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    10 * time.Minute,
		MaximumAttempts:    5,
	},
}

// Deduplicate resolves duplicate contacts in the store: merges recorded and
// undoable, unsure pairs queued for review. Ops schedule it (see schedules.json).
func Deduplicate(ctx workflow.Context) (activities.DedupSummary, error) {
	ctx = workflow.WithActivityOptions(ctx, dedupOptions)
	var a *activities.Dedup
	var sum activities.DedupSummary
	err := workflow.ExecuteActivity(ctx, a.Resolve).Get(ctx, &sum)
	return sum, err
}
