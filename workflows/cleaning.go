package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
)

// CleaningName is the wire name of Cleaning.
const CleaningName = "Cleaning"

// CleaningInput configures a cleaning run.
type CleaningInput struct {
	BatchSize    int `json:"batch_size,omitempty"`    // contacts per batch (default 500)
	InactiveDays int `json:"inactive_days,omitempty"` // no engagement for this long archives (default 365)
}

// CleaningSummary counts what each step did; the Temporal UI shows it.
type CleaningSummary struct {
	Standardized activities.StandardizeResult `json:"standardized"`
	Deduplicated activities.DedupSummary      `json:"deduplicated"`
	Rescored     activities.StandardizeResult `json:"rescored"` // survivors of this run's merges, scored again
	Archived     kith.ArchiveCounts           `json:"archived"`
}

// cleaningBatchOptions: a pass over every contact in batches, heartbeating its
// cursor after each; a dead worker is noticed within 30 s and the retry resumes
// after the last batch done.
var cleaningBatchOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 6 * time.Hour,
	HeartbeatTimeout:    30 * time.Second,
	RetryPolicy:         backoff(time.Minute),
}

// Cleaning re-standardizes every active contact with today's rules (rewriting,
// dropping and quarantining values; imputing missing ages, flagged; storing
// completeness), merges duplicates (recorded, undoable; unsure pairs to review),
// scores the merged survivors again, and archives contacts that unsubscribed,
// hard-bounced or went inactive. Safe to run while ingestion continues: a
// contact changed meanwhile is left for the next run. A second run changes
// nothing.
func Cleaning(ctx workflow.Context, in CleaningInput) (CleaningSummary, error) {
	var sum CleaningSummary
	var c *activities.Cleaning
	var a *activities.Archiver
	batch := workflow.WithActivityOptions(ctx, cleaningBatchOptions)
	std := activities.StandardizeInput{BatchSize: in.BatchSize}
	if err := workflow.ExecuteActivity(batch, c.Standardize, std).Get(ctx, &sum.Standardized); err != nil {
		return sum, err
	}
	var err error
	if sum.Deduplicated, err = deduplicate(ctx); err != nil {
		return sum, err
	}
	if sum.Deduplicated.Merges > 0 {
		rescore := activities.StandardizeInput{BatchSize: in.BatchSize, MergesFrom: sum.Deduplicated.FirstMerge} // the survivors only
		if err := workflow.ExecuteActivity(batch, c.Standardize, rescore).Get(ctx, &sum.Rescored); err != nil {
			return sum, err
		}
	}
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, profileWriteOptions), a.Archive,
		activities.ArchiveInput{InactiveDays: in.InactiveDays}).Get(ctx, &sum.Archived)
	return sum, err
}
