package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
)

// PersonalizationName is the wire name of Personalization.
const PersonalizationName = "Personalization"

// PersonalizationInput configures a run (nothing yet: the schedule's args
// stay compatible as options come).
type PersonalizationInput struct{}

// PersonalizationResult is what a run computed.
type PersonalizationResult struct {
	SegmentsChanged int `json:"segments_changed"`
	activities.RecommendationsResult
}

// Personalization is the nightly job (the personalization-nightly schedule):
// RFM segments from orders, stored on each contact and loaded into
// dim_contact; item-to-item recommendations from products bought and viewed
// together, which triggered messages carry.
func Personalization(ctx workflow.Context, _ PersonalizationInput) (PersonalizationResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 10},
	})
	var a *activities.Personalize
	var res PersonalizationResult
	if err := workflow.ExecuteActivity(ctx, a.Segments).Get(ctx, &res.SegmentsChanged); err != nil {
		return res, err
	}
	err := workflow.ExecuteActivity(ctx, a.Recommendations).Get(ctx, &res.RecommendationsResult)
	return res, err
}
