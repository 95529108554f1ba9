// Package schemas embeds Kith's schemas: PostgreSQL migrations (postgres/NNNN_*.sql,
// applied in order), BigQuery star-schema tables (bigquery/*.json) and form definitions
// (forms/*.json). schemas/README.md documents the canonical model column by column.
package schemas

import (
	"embed"
	"io/fs"
)

// Postgres holds the migrations, named NNNN_description.sql.
//
//go:embed postgres/*.sql
var Postgres embed.FS

// BigQuery holds one table definition per file: bigquery/<table>.json.
//
//go:embed bigquery/*.json
var BigQuery embed.FS

// Queries holds the analysts' example queries (bigquery/queries/<name>.sql), with
// ${DATASET} standing for the `project.dataset` of the star schema.
//
//go:embed bigquery/queries/*.sql
var Queries embed.FS

// QualityWeights holds the default completeness weights per profile field.
//
//go:embed quality/weights.json
var QualityWeights []byte

//go:embed forms/*.json
var formFiles embed.FS

// Forms holds the progressive-profiling form definitions, one <id>.json each.
var Forms = sub(formFiles, "forms")

//go:embed triggers/*.json
var triggerFiles embed.FS

// Triggers holds the personalization trigger rules, one <name>.json each.
var Triggers = sub(triggerFiles, "triggers")

// sub is the files of an embedded folder, named without the folder.
func sub(files embed.FS, dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // a constant, valid path
	}
	return f
}

// Messaging is the policy every trigger obeys: the daily cap, quiet hours and
// the profile fields each consent purpose lets a message carry.
//
//go:embed messaging.json
var Messaging []byte

// Schedules lists the Temporal Schedules that `starter schedules apply` keeps.
//
//go:embed schedules.json
var Schedules []byte
