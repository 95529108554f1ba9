package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
)

// WarehouseLoadName is the wire name of WarehouseLoad.
const WarehouseLoadName = "WarehouseLoad"

// WarehouseLoadInput configures a load.
type WarehouseLoadInput struct {
	Tables []string `json:"tables,omitempty"` // default: every star-schema table
	// OverlapMinutes re-reads writes this long before each watermark (default 10).
	OverlapMinutes int `json:"overlap_minutes,omitempty"`
}

// TableLoad is what a load did to one table; the Temporal UI shows the list.
type TableLoad struct {
	Table   string               `json:"table"`
	After   time.Time            `json:"after"`
	UpTo    time.Time            `json:"up_to"`
	Rows    int64                `json:"rows"`              // rows staged and upserted
	Rebuilt bool                 `json:"rebuilt,omitempty"` // recreated to add columns, loaded in full
	Check   activities.LoadCheck `json:"check"`
}

// WarehouseLoadResult lists the tables loaded.
type WarehouseLoadResult struct {
	Tables []TableLoad `json:"tables"`
}

// warehouseOptions: metadata calls, DML and PostgreSQL reads; retried through an
// outage of either side for up to a day.
var warehouseOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    10 * time.Minute,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy:            backoff(5 * time.Minute),
}

// warehouseBeatOptions: warehouseOptions with the stage's heartbeat timeout
// (since warehouse-heartbeat every warehouse activity beats), so a worker
// killed during any step has it retried after 30 s, not after ten minutes.
var warehouseBeatOptions = func() workflow.ActivityOptions {
	o := warehouseOptions
	o.HeartbeatTimeout = 30 * time.Second
	return o
}()

// stageOptions: extract and load job, and the upsert's DML job; they heartbeat, so a dead worker's attempt is
// retried after 30 s, and the retry finds the load job already done.
var stageOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    2 * time.Hour,
	HeartbeatTimeout:       warehouseBeatOptions.HeartbeatTimeout,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy:            warehouseOptions.RetryPolicy,
}

// WarehouseLoad loads each star-schema table in turn: plan the window of writes
// since the table's watermark (creating or growing the BigQuery table), stage the
// window's rows with a load job whose id is derived from the window, upsert the
// staging table into the target in one transaction, advance the watermark, drop
// the staging table, and check the table against PostgreSQL. Each step is
// idempotent, so a retry or a killed worker never duplicates a row.
func WarehouseLoad(ctx workflow.Context, in WarehouseLoadInput) (WarehouseLoadResult, error) {
	var res WarehouseLoadResult
	var a *activities.Warehouse
	actx := workflow.WithActivityOptions(ctx, warehouseOptions)
	if workflow.GetVersion(ctx, "warehouse-heartbeat", workflow.DefaultVersion, 1) == 1 {
		actx = workflow.WithActivityOptions(ctx, warehouseBeatOptions)
	}
	overlap := time.Duration(in.OverlapMinutes) * time.Minute
	if in.OverlapMinutes == 0 {
		overlap = 10 * time.Minute
	}
	tables := in.Tables
	if len(tables) == 0 {
		if err := workflow.ExecuteActivity(actx, a.LoadTables).Get(ctx, &tables); err != nil {
			return res, err
		}
	}
	for _, table := range tables {
		var p activities.LoadPlan
		if err := workflow.ExecuteActivity(actx, a.PlanLoad, activities.LoadPlanInput{Table: table, Overlap: overlap}).Get(ctx, &p); err != nil {
			return res, err
		}
		tl := TableLoad{Table: table, After: p.After, UpTo: p.UpTo, Rebuilt: p.Rebuilt}
		if !p.Empty {
			var st activities.Staged
			if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, stageOptions), a.StageLoad, p).Get(ctx, &st); err != nil {
				return res, err
			}
			tl.Rows = st.Rows
			// Since upsert-heartbeat, the upsert heartbeats: a worker killed
			// during its DML job has it retried after 30 s, not after the
			// ten minutes of its start-to-close timeout.
			upsert := actx
			if workflow.GetVersion(ctx, "upsert-heartbeat", workflow.DefaultVersion, 1) == 1 {
				upsert = workflow.WithActivityOptions(ctx, stageOptions)
			}
			steps := []struct {
				ctx workflow.Context
				fn  any
				arg any
			}{
				{upsert, a.UpsertLoad, activities.UpsertLoadInput{Plan: p, Staging: st.Staging}},
				{actx, a.AdvanceWatermark, p},
				{actx, a.DropStaging, st.Staging},
			}
			for _, s := range steps {
				if err := workflow.ExecuteActivity(s.ctx, s.fn, s.arg).Get(ctx, nil); err != nil {
					return res, err
				}
			}
		}
		verify := activities.VerifyLoadInput{Table: table, UpTo: p.UpTo, Overlap: overlap}
		err := workflow.ExecuteActivity(actx, a.VerifyLoad, verify).Get(ctx, &tl.Check)
		res.Tables = append(res.Tables, tl)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}
