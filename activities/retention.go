package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
)

// Retention deletes what Kith keeps only for a while: behavioural events
// older than Events (KITH_EVENT_RETENTION_DAYS; 0 keeps them), and the hourly
// quarantine budgets of anonymous callers (their IP addresses) after a week.
type Retention struct {
	Store  kith.RetentionStore
	Events time.Duration
	Now    func() time.Time
}

// BudgetRetention is how long an anonymous caller's quarantine budget rows
// (which name its IP address) are kept.
const BudgetRetention = 7 * 24 * time.Hour

// RetentionInput sizes the batches.
type RetentionInput struct {
	BatchSize int `json:"batch_size,omitempty"`
}

// RetentionResult counts what was deleted; it is also the heartbeat, so a
// retry resumes its counts.
type RetentionResult struct {
	EventsBefore  time.Time `json:"events_before,omitzero"` // zero when events are kept
	Events        int64     `json:"events"`
	BudgetsBefore time.Time `json:"budgets_before"`
	Budgets       int64     `json:"budgets"`
}

// DeleteExpired deletes, in batches (each its own short transaction, so it
// never holds locks for long), the events that occurred before the retention
// age and the budget rows older than a week.
func (a *Retention) DeleteExpired(ctx context.Context, in RetentionInput) (RetentionResult, error) {
	var res RetentionResult
	if activity.HasHeartbeatDetails(ctx) {
		activity.GetHeartbeatDetails(ctx, &res)
	}
	if in.BatchSize <= 0 {
		in.BatchSize = 5000
	}
	now := a.Now()
	if a.Events > 0 {
		res.EventsBefore = now.Add(-a.Events)
		for {
			n, err := a.Store.DeleteEventsBefore(ctx, res.EventsBefore, in.BatchSize)
			if err != nil {
				return res, err
			}
			res.Events += n
			activity.RecordHeartbeat(ctx, res)
			if err := ctx.Err(); err != nil {
				return res, temporal.NewCanceledError(res)
			}
			if n < int64(in.BatchSize) {
				break
			}
		}
	}
	res.BudgetsBefore = now.Add(-BudgetRetention)
	n, err := a.Store.DeleteQuarantineBudgetsBefore(ctx, res.BudgetsBefore)
	res.Budgets += n
	return res, err
}
