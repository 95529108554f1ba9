package kith

import (
	"context"
	"time"
)

// QualityReport is the state of the data and the pipeline at one moment: what
// the data-quality report page draws and what the metrics export. Every number
// is a count in the canonical store (or the warehouse) at At.
type QualityReport struct {
	At       time.Time `json:"at"`
	Contacts []Count   `json:"contacts"` // by status (active, archived, merged)
	// ViolationsByDay are the refused values quarantined in the last 30 days, by
	// day, field and code; Violations the same over all time.
	ViolationsByDay []DayCount   `json:"violations_by_day"`
	Violations      []FieldCount `json:"violations"`
	// Repairs are values kept after a fix or with a warning, by field and code.
	Repairs      []FieldCount          `json:"repairs"`
	Quarantine   []QuarantineCount     `json:"quarantine"` // by source
	Dedup        DedupFigures          `json:"dedup"`
	Completeness CompletenessFigures   `json:"completeness"`
	Imputed      []ImputedCount        `json:"imputed"`
	Archived     []Count               `json:"archived"`   // current archive by reason
	Consent      []ConsentCount        `json:"consent"`    // active contacts by purpose and latest status
	Deliveries   []DeliveryCount       `json:"deliveries"` // triggered messages by rule and outcome
	Warehouse    []WarehouseTableCount `json:"warehouse"`
}

// Count is a number of things with one key.
type Count struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

// FieldCount counts violations (or repairs) of one field with one code.
type FieldCount struct {
	Field string `json:"field"`
	Code  string `json:"code"`
	N     int    `json:"n"`
}

// DayCount is a FieldCount on one day (UTC).
type DayCount struct {
	Day time.Time `json:"day"`
	FieldCount
}

// QuarantineCount is what a source's refusals left in quarantine.
type QuarantineCount struct {
	Source   string `json:"source"`
	Open     int    `json:"open"`
	Resolved int    `json:"resolved"`
}

// DedupFigures are the de-duplication's results: merges in force and undone,
// the review queue, and the latest run (nil before the first).
type DedupFigures struct {
	Merged         int       `json:"merged"`
	Undone         int       `json:"undone"`
	ReviewPending  int       `json:"review_pending"`
	ReviewMerged   int       `json:"review_merged"`
	ReviewApart    int       `json:"review_kept_apart"`
	MergedByActor  []Count   `json:"merged_by_actor"`
	LastRun        *DedupRun `json:"last_run,omitempty"`
	DuplicateShare float64   `json:"duplicate_share"` // merged / (active + merged)
}

// DedupRun is one de-duplication run's figures.
type DedupRun struct {
	RunID       string    `json:"run_id"`
	FinishedAt  time.Time `json:"finished_at"`
	Contacts    int       `json:"contacts"`
	Comparisons int       `json:"comparisons"`
	Links       int       `json:"links"`
	Merged      int       `json:"merged"`
	Review      int       `json:"review"`
	Rounds      int       `json:"rounds"`
}

// CompletenessBands is how many bands of ten points a distribution has (0-9 …
// 90-99, and 100).
const CompletenessBands = 11

// CompletenessFigures compare the active contacts' completeness now with the
// snapshot taken 30 days before (Before nil when there is none), and name the
// fields whose filling would raise the mean most.
type CompletenessFigures struct {
	Now       [CompletenessBands]int  `json:"now"`
	Unscored  int                     `json:"unscored"` // active contacts no Cleaning scored yet
	Mean      float64                 `json:"mean"`
	Before    *[CompletenessBands]int `json:"before,omitempty"`
	BeforeDay time.Time               `json:"before_day,omitzero"`
	Gains     []FieldGain             `json:"gains"`
}

// FieldGain is what filling one field on every active contact missing it
// would add to the mean completeness (points), and how many miss it.
type FieldGain struct {
	Field   string  `json:"field"`
	Missing int     `json:"missing"`
	Imputed int     `json:"imputed"` // an imputed value counts half
	Gain    float64 `json:"gain"`
}

// ImputedCount counts imputed values of one field by method, with their mean
// confidence.
type ImputedCount struct {
	Field          string  `json:"field"`
	Method         string  `json:"method"`
	N              int     `json:"n"`
	MeanConfidence float64 `json:"mean_confidence"`
}

// ConsentCount counts active contacts by purpose and their latest consent
// status ("none": never asked).
type ConsentCount struct {
	Purpose string `json:"purpose"`
	Status  string `json:"status"`
	N       int    `json:"n"`
}

// DeliveryCount counts triggered messages by rule, outcome (accepted,
// suppressed, capped, failed, sending) and suppression reason.
type DeliveryCount struct {
	Rule    string `json:"rule"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	N       int    `json:"n"`
}

// WarehouseTableCount sets a star-schema table's rows in BigQuery beside the
// rows PostgreSQL's view of it holds; BigQuery is -1 when not asked.
type WarehouseTableCount struct {
	Table     string    `json:"table"`
	Postgres  int       `json:"postgres"`
	BigQuery  int       `json:"bigquery"`
	Watermark time.Time `json:"watermark,omitzero"` // loaded up to
}

// Reports computes the quality report from the canonical store.
type Reports interface {
	QualityReport(ctx context.Context, now time.Time) (QualityReport, error)
}

// WarehouseCounter counts a star-schema table's rows in the warehouse.
type WarehouseCounter interface {
	CountRows(ctx context.Context, table string) (int, error)
}
