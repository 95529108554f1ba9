package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/telemetry"
)

// ErrWarehouseMismatch is the application error type of a load whose BigQuery
// table disagrees with PostgreSQL (duplicate keys, rows missing or extra): not
// retried, so ops see it in the Temporal UI.
const ErrWarehouseMismatch = "WarehouseMismatch"

// Warehouse loads changed rows from PostgreSQL into the BigQuery star schema.
type Warehouse struct {
	Source kith.WarehouseSource
	Target kith.Warehouse
	// EventRetention is the events' retention age (0: kept): near it, events
	// may be gone from one store before the other, so checks leave them out.
	EventRetention time.Duration
	// Metrics records each checked load (nil: none).
	Metrics *telemetry.Worker
}

// retentionMargin keeps a check clear of the events retention may be
// deleting: PostgreSQL deletes by the instant, BigQuery drops whole day
// partitions once the day is past the age.
const retentionMargin = 48 * time.Hour

// retained is what VerifyLoad counts of table.
func (a *Warehouse) retained(table string) kith.Retained {
	if table != kith.RetainedTable || a.EventRetention <= 0 {
		return kith.Retained{}
	}
	return kith.Retained{Column: kith.RetainedColumn, Since: time.Now().Add(-a.EventRetention + retentionMargin)}
}

// LoadPlanInput names the table to plan a load of.
type LoadPlanInput struct {
	Table string `json:"table"`
	// Overlap re-reads rows written this long before the watermark, for writes that
	// committed after a load had read past them; the upsert makes re-reading harmless.
	Overlap time.Duration `json:"overlap"`
}

// LoadPlan is one table's load: its columns and the window of writes (After, UpTo].
type LoadPlan struct {
	Table   string                 `json:"table"`
	Columns []kith.WarehouseColumn `json:"columns"`
	After   time.Time              `json:"after"`
	UpTo    time.Time              `json:"up_to"`
	Rebuilt bool                   `json:"rebuilt,omitempty"` // the table was recreated to grow: loaded in full
	Empty   bool                   `json:"empty,omitempty"`   // nothing written since the watermark
	// Run is the workflow run that planned the load ("" in plans made before it
	// was recorded). Two loads running at once (the hourly schedule and one
	// started from the Temporal UI) plan the same window; their staging tables
	// must not be one table, or one load's DropStaging deletes what the other
	// is about to upsert.
	Run string `json:"run,omitempty"`
}

// JobKey names the window and the run that loads it; the load job's id and the
// staging table's name are derived from it, so a retry of the same run finds
// its own job and another run never does.
func (p LoadPlan) JobKey() string {
	key := fmt.Sprintf("%s_%d_%d", p.Table, p.After.UnixMicro(), p.UpTo.UnixMicro())
	if p.Run != "" {
		key += "_" + p.Run
	}
	return key
}

// runOf names the workflow run an activity works for, in 16 hex digits (a
// workflow id can be as long as a BigQuery job id may be); "" outside one.
func runOf(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	w := activity.GetInfo(ctx).WorkflowExecution
	sum := sha256.Sum256([]byte(w.ID + "\x00" + w.RunID))
	return hex.EncodeToString(sum[:8])
}

// Staged is a load's staging table and its rows.
type Staged struct {
	Staging string `json:"staging"`
	Rows    int64  `json:"rows"`
}

// LoadCheck compares a loaded table with its source.
type LoadCheck struct {
	Table    string `json:"table"`
	Postgres int64  `json:"postgres_rows"`
	BigQuery int64  `json:"bigquery_rows"`
}

// LoadTables lists the star-schema tables.
func (a *Warehouse) LoadTables(ctx context.Context) ([]string, error) {
	stop := keepBeating(ctx, "tables")
	defer stop()
	return a.Target.TableNames()
}

// target keys a table's watermark: per dataset.table.
func (a *Warehouse) target(table string) string { return a.Target.Dataset() + "." + table }

// PlanLoad makes the BigQuery table match the source's columns (creating it, or
// adding columns) and fixes the window to load: from the watermark (less the
// overlap) to the newest write now. A table that had to be recreated to grow has
// its watermark forgotten first, so it is loaded in full even after a crash.
func (a *Warehouse) PlanLoad(ctx context.Context, in LoadPlanInput) (LoadPlan, error) {
	stop := keepBeating(ctx, in.Table)
	defer stop()
	p := LoadPlan{Table: in.Table, After: time.Unix(0, 0).UTC(), Run: runOf(ctx)}
	var err error
	if p.Columns, err = a.Source.SourceColumns(ctx, in.Table); err != nil {
		return p, temporal.NewNonRetryableApplicationError(err.Error(), "WarehouseSchema", err)
	}
	target := a.target(in.Table)
	p.Rebuilt, err = a.Target.PrepareTable(ctx, in.Table, p.Columns, func() error { return a.Source.ResetWatermark(ctx, target) })
	if err != nil {
		return p, err
	}
	mark, loaded, err := a.Source.Watermark(ctx, target)
	if err != nil {
		return p, err
	}
	if p.UpTo, err = a.Source.LastChange(ctx, in.Table); err != nil {
		return p, err
	}
	switch {
	case p.UpTo.IsZero():
		p.Empty, p.UpTo = true, p.After
	case loaded && !p.UpTo.After(mark):
		p.Empty, p.UpTo = true, mark
	case loaded:
		p.After = mark.Add(-in.Overlap)
	}
	return p, nil
}

// StageLoad extracts the plan's rows from PostgreSQL into a temporary file of
// newline-delimited JSON and loads it into a staging table with a load job whose
// id is derived from the plan's window and run, so a retry never loads twice. It
// heartbeats while it works; a dead worker's attempt is retried within a minute.
func (a *Warehouse) StageLoad(ctx context.Context, p LoadPlan) (Staged, error) {
	stop := keepBeating(ctx, p.Table)
	defer stop()
	f, err := os.CreateTemp("", "kith-load-"+p.Table+"-*.ndjson")
	if err != nil {
		return Staged{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	names := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		names[i] = c.Name
	}
	n, err := a.Source.ExtractChanged(ctx, p.Table, names, p.After, p.UpTo, f)
	if err != nil {
		return Staged{}, err
	}
	staging, rows, err := a.Target.Stage(ctx, p.Table, p.JobKey(), p.Columns, f, n)
	return Staged{Staging: staging, Rows: rows}, err
}

// keepBeating heartbeats every few seconds until stopped (a BigQuery job or
// call gives no progress to report, only that the worker is alive). Every
// warehouse activity beats, so a load scheduled with a heartbeat timeout has a
// killed worker's step retried within that timeout, whichever step it was.
func keepBeating(ctx context.Context, detail string) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, detail)
			}
		}
	}()
	return func() { close(done) }
}

// UpsertLoadInput is a staged load to apply.
type UpsertLoadInput struct {
	Plan    LoadPlan `json:"plan"`
	Staging string   `json:"staging"`
}

// UpsertLoad replaces the target's rows with the staged ones, in one transaction
// (idempotent: running it again gives the same table). It heartbeats while the
// DML job runs, as StageLoad does.
func (a *Warehouse) UpsertLoad(ctx context.Context, in UpsertLoadInput) error {
	stop := keepBeating(ctx, in.Plan.Table)
	defer stop()
	return a.Target.Upsert(ctx, in.Plan.Table, in.Staging, in.Plan.Columns)
}

// AdvanceWatermark records that the plan's window is loaded.
func (a *Warehouse) AdvanceWatermark(ctx context.Context, p LoadPlan) error {
	stop := keepBeating(ctx, p.Table)
	defer stop()
	return a.Source.AdvanceWatermark(ctx, a.target(p.Table), p.UpTo)
}

// DropStaging deletes a staging table.
func (a *Warehouse) DropStaging(ctx context.Context, staging string) error {
	stop := keepBeating(ctx, staging)
	defer stop()
	return a.Target.DropStaging(ctx, staging)
}

// VerifyLoadInput is a loaded table to check.
type VerifyLoadInput struct {
	Table   string        `json:"table"`
	UpTo    time.Time     `json:"up_to"`
	Overlap time.Duration `json:"overlap"`
}

// VerifyLoad checks the BigQuery table against PostgreSQL: no key twice; no more
// rows than PostgreSQL has; at least every row written up to the load's window
// less the overlap (later writes may be the next load's). With no writes going on
// the counts are equal.
func (a *Warehouse) VerifyLoad(ctx context.Context, in VerifyLoadInput) (LoadCheck, error) {
	stop := keepBeating(ctx, in.Table)
	defer stop()
	r := a.retained(in.Table)
	all, settled, err := a.Source.CountRows(ctx, in.Table, in.UpTo.Add(-in.Overlap), r)
	if err != nil {
		return LoadCheck{}, err
	}
	st, err := a.Target.TableState(ctx, in.Table, r)
	if err != nil {
		return LoadCheck{}, err
	}
	c := LoadCheck{Table: in.Table, Postgres: all, BigQuery: st.Rows}
	var problem string
	switch {
	case st.Keys != st.Rows:
		problem = fmt.Sprintf("%d rows but %d distinct keys: duplicates", st.Rows, st.Keys)
	case st.Rows > all:
		problem = fmt.Sprintf("%d rows, more than PostgreSQL's %d", st.Rows, all)
	case st.Rows < settled:
		problem = fmt.Sprintf("%d rows, fewer than the %d PostgreSQL wrote before the load", st.Rows, settled)
	}
	a.Metrics.Loaded(in.Table, st.Rows, problem == "")
	if problem != "" {
		return c, temporal.NewNonRetryableApplicationError("BigQuery "+in.Table+": "+problem, ErrWarehouseMismatch, nil, c)
	}
	return c, nil
}
