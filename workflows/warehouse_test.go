package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/workflows"
)

// TestWarehouseLoadStepsPerTable: a table with writes is planned, staged, upserted,
// marked and checked, in that order, with the staging table of its own load; a
// table without writes is only checked; the overlap defaults to ten minutes.
// Every step is scheduled with a heartbeat timeout, so a killed worker's step
// is retried within it.
func TestWarehouseLoadStepsPerTable(t *testing.T) {
	env := newEnv(t)
	var a *activities.Warehouse
	env.RegisterActivity(a)
	upTo := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var steps []string
	step := func(ctx context.Context, s string) {
		steps = append(steps, s)
		if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb <= 0 || hb > time.Minute {
			t.Errorf("%s: heartbeat timeout %s, want one of a minute at most", s, hb)
		}
	}
	env.OnActivity(a.LoadTables, mock.Anything).Return(func(ctx context.Context) ([]string, error) {
		step(ctx, "tables")
		return []string{"dim_contact", "fact_event"}, nil
	})
	env.OnActivity(a.PlanLoad, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.LoadPlanInput) (activities.LoadPlan, error) {
			step(ctx, "plan "+in.Table)
			if in.Overlap != 10*time.Minute {
				t.Errorf("overlap %s, want the 10m default", in.Overlap)
			}
			return activities.LoadPlan{Table: in.Table, UpTo: upTo, Empty: in.Table == "fact_event"}, nil
		})
	env.OnActivity(a.StageLoad, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, p activities.LoadPlan) (activities.Staged, error) {
			step(ctx, "stage "+p.Table)
			return activities.Staged{Staging: "_stage_" + p.Table, Rows: 42}, nil
		})
	env.OnActivity(a.UpsertLoad, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.UpsertLoadInput) error {
		step(ctx, "upsert "+in.Staging)
		return nil
	})
	env.OnActivity(a.AdvanceWatermark, mock.Anything, mock.Anything).Return(func(ctx context.Context, p activities.LoadPlan) error {
		step(ctx, "advance "+p.UpTo.Format(time.RFC3339))
		return nil
	})
	env.OnActivity(a.DropStaging, mock.Anything, mock.Anything).Return(func(ctx context.Context, staging string) error {
		step(ctx, "drop "+staging)
		return nil
	})
	env.OnActivity(a.VerifyLoad, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.VerifyLoadInput) (activities.LoadCheck, error) {
			step(ctx, "verify "+in.Table)
			return activities.LoadCheck{Table: in.Table, Postgres: 42, BigQuery: 42}, nil
		})
	env.ExecuteWorkflow(workflows.WarehouseLoadName, workflows.WarehouseLoadInput{})
	var res workflows.WarehouseLoadResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := []string{"tables", "plan dim_contact", "stage dim_contact", "upsert _stage_dim_contact", "advance 2026-11-28T12:00:00Z",
		"drop _stage_dim_contact", "verify dim_contact", "plan fact_event", "verify fact_event"}
	if len(steps) != len(want) {
		t.Fatalf("steps %q, want %q", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Errorf("step %d: %q, want %q", i, steps[i], want[i])
		}
	}
	if len(res.Tables) != 2 || res.Tables[0].Rows != 42 || res.Tables[1].Rows != 0 || res.Tables[1].Check.BigQuery != 42 {
		t.Errorf("result %+v", res)
	}
}

// TestWarehouseLoadFailsOnAMismatch: a check that finds duplicates ends the load
// with that error (ops see it) after recording what was loaded.
func TestWarehouseLoadFailsOnAMismatch(t *testing.T) {
	env := newEnv(t)
	var a *activities.Warehouse
	env.RegisterActivity(a)
	env.OnActivity(a.PlanLoad, mock.Anything, mock.Anything).Return(activities.LoadPlan{Table: "fact_order", Empty: true}, nil)
	env.OnActivity(a.VerifyLoad, mock.Anything, mock.Anything).Return(activities.LoadCheck{},
		temporal.NewNonRetryableApplicationError("BigQuery fact_order: 3 rows but 2 distinct keys: duplicates", activities.ErrWarehouseMismatch, nil))
	env.ExecuteWorkflow(workflows.WarehouseLoadName, workflows.WarehouseLoadInput{Tables: []string{"fact_order", "fact_ticket"}})
	var ae *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &ae) || ae.Type() != activities.ErrWarehouseMismatch {
		t.Fatalf("workflow error %v, want %s", err, activities.ErrWarehouseMismatch)
	}
	env.AssertActivityNumberOfCalls(t, "PlanLoad", 1) // fact_ticket not reached
}
