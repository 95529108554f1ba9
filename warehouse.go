package kith

import (
	"context"
	"io"
	"time"
)

// WarehouseColumn is one column of a warehouse table, as its source exposes it.
type WarehouseColumn struct {
	Name string `json:"name"`
	Type string `json:"type"` // BigQuery type: STRING, INTEGER, NUMERIC, FLOAT, BOOLEAN, TIMESTAMP, DATE
}

// WarehouseSource is where the star schema's rows come from: one source table per
// warehouse table, each row stamped with when Kith last wrote it (the watermark).
type WarehouseSource interface {
	// SourceColumns lists the columns the source exposes for table, in order.
	SourceColumns(ctx context.Context, table string) ([]WarehouseColumn, error)
	// Watermark is how far target has been loaded; ok is false before the first load.
	Watermark(ctx context.Context, target string) (at time.Time, ok bool, err error)
	// AdvanceWatermark moves target's watermark forward to at (never backward).
	AdvanceWatermark(ctx context.Context, target string, at time.Time) error
	// ResetWatermark forgets target's watermark: the next load reloads everything.
	ResetWatermark(ctx context.Context, target string) error
	// LastChange is the newest write to table (zero when it is empty).
	LastChange(ctx context.Context, table string) (time.Time, error)
	// ExtractChanged writes the rows of table written in (after, upTo] to w as
	// newline-delimited JSON with the given columns, and returns how many it wrote.
	ExtractChanged(ctx context.Context, table string, columns []string, after, upTo time.Time, w io.Writer) (int64, error)
	// CountRows counts table's rows: all of them (and the rows an erasure
	// deleted that the warehouse may still hold), and those written up to upTo.
	CountRows(ctx context.Context, table string, upTo time.Time, r Retained) (all, upToCount int64, err error)
}

// RetainedTable is the star-schema table of events, whose day partitions
// (on RetainedColumn) expire at the event retention age, as events do in
// PostgreSQL (the Retention workflow).
const (
	RetainedTable  = "fact_event"
	RetainedColumn = "occurred_at"
)

// Retained limits a count to the rows whose Column is at or after Since (all
// rows when Since is zero): rows near the retention age may be deleted in one
// store before the other, so both sides of a check leave them out.
type Retained struct {
	Column string
	Since  time.Time
}

// WarehouseTableState is what a warehouse table holds: its rows and distinct keys
// (equal unless a load duplicated something).
type WarehouseTableState struct {
	Rows int64 `json:"rows"`
	Keys int64 `json:"keys"`
}

// Warehouse is the analysts' star schema (BigQuery).
type Warehouse interface {
	// Dataset names the star schema (a BigQuery dataset): loads into different
	// datasets keep separate watermarks.
	Dataset() string
	// TableNames lists the star-schema tables.
	TableNames() ([]string, error)
	// PrepareTable creates table if it is missing and adds the source's columns it
	// lacks. Where it can only grow the table by recreating it empty, it calls
	// beforeRebuild first (to have everything loaded again) and returns rebuilt.
	PrepareTable(ctx context.Context, table string, columns []WarehouseColumn, beforeRebuild func() error) (rebuilt bool, err error)
	// Stage loads rows of newline-delimited JSON into a staging table with a load
	// job whose id is derived from jobKey: a retry with the same key never loads
	// twice. It returns the staging table's name and row count.
	Stage(ctx context.Context, table, jobKey string, columns []WarehouseColumn, ndjson io.ReadSeeker, rows int64) (staging string, staged int64, err error)
	// Upsert replaces table's rows that share a key with staging's rows, in one
	// transaction.
	Upsert(ctx context.Context, table, staging string, columns []WarehouseColumn) error
	// DropStaging deletes a staging table; a missing one is not an error.
	DropStaging(ctx context.Context, staging string) error
	// TableState counts table's rows and keys.
	TableState(ctx context.Context, table string, r Retained) (WarehouseTableState, error)
}

// WarehouseEraser deletes an erased person's rows from the star schema.
type WarehouseEraser interface {
	// EraseRows deletes table's rows with the given keys and returns how many
	// there were.
	EraseRows(ctx context.Context, table string, keys []string) (int64, error)
	// DetachOrders clears the contact of the orders of the given contacts and
	// returns how many there were.
	DetachOrders(ctx context.Context, contactIDs []string) (int64, error)
	// DropLakeTables drops the scratch tables loaded from the raw lake (they
	// hold raw payloads, the person's among them) and returns how many.
	DropLakeTables(ctx context.Context) (int64, error)
}
