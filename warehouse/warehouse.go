// Package warehouse loads Kith's star schema into BigQuery with
// cloud.google.com/go/bigquery. Tables are defined in schemas/bigquery; the same
// code talks to real BigQuery and to the local emulator.
package warehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/schemas"
)

// Warehouse is a BigQuery dataset holding the star schema.
type Warehouse struct {
	bq      *bigquery.Client
	project string
	dataset string
	// eventRetention is fact_event's partition expiration (UseEventRetention).
	eventRetention time.Duration
	// media are the load jobs' upload options: on the emulator one request
	// per load, as it cannot take a resumable upload's second chunk (a file
	// over 16 MiB); BigQuery itself gets the client's resumable uploads.
	media []googleapi.MediaOption
}

// UseEventRetention makes fact_event's day partitions expire after d (0:
// never), set when the table is created or next prepared for a load.
func (w *Warehouse) UseEventRetention(d time.Duration) { w.eventRetention = d }

// expiration is table's partition expiration.
func (w *Warehouse) expiration(table string) time.Duration {
	if table == kith.RetainedTable {
		return w.eventRetention
	}
	return 0
}

// ensureExpiration sets the partition expiration of an existing table when it
// differs from the configured one, and returns the table's metadata.
func (w *Warehouse) ensureExpiration(ctx context.Context, t *bigquery.Table, md *bigquery.TableMetadata) (*bigquery.TableMetadata, error) {
	want := w.expiration(t.TableID)
	if md.TimePartitioning == nil || md.TimePartitioning.Expiration == want {
		return md, nil
	}
	tp := *md.TimePartitioning
	tp.Expiration = want
	md, err := t.Update(ctx, bigquery.TableMetadataToUpdate{TimePartitioning: &tp}, md.ETag)
	if err != nil {
		return nil, fmt.Errorf("partition expiration of %s: %w", t.TableID, err)
	}
	return md, nil
}

// Open connects to BigQuery. With emulatorHost (host:port) it talks to the emulator
// without credentials; otherwise it uses application default credentials.
func Open(ctx context.Context, project, dataset, emulatorHost string) (*Warehouse, error) {
	var opts []option.ClientOption
	if emulatorHost != "" {
		opts = append(opts, option.WithEndpoint("http://"+emulatorHost), option.WithoutAuthentication())
	}
	c, err := bigquery.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to BigQuery: %w", err)
	}
	w := &Warehouse{bq: c, project: project, dataset: dataset}
	if emulatorHost != "" {
		w.media = []googleapi.MediaOption{googleapi.ChunkSize(0)}
	}
	return w, nil
}

// Dataset implements kith.Warehouse.
func (w *Warehouse) Dataset() string { return w.dataset }

// Close closes the client.
func (w *Warehouse) Close() error { return w.bq.Close() }

// Client exposes the BigQuery client for queries.
func (w *Warehouse) Client() *bigquery.Client { return w.bq }

// Table returns the fully qualified `project.dataset.table` name that DML needs
// (the emulator rejects shorter ones).
func (w *Warehouse) Table(name string) string {
	return fmt.Sprintf("`%s.%s.%s`", w.project, w.dataset, name)
}

// TableDef is one star-schema table as defined in schemas/bigquery/<name>.json.
type TableDef struct {
	Name           string          `json:"-"`
	Description    string          `json:"description"`
	Key            string          `json:"key"`
	PartitionField string          `json:"partition_field"`
	Clustering     []string        `json:"clustering"`
	Schema         json.RawMessage `json:"schema"`
	Fields         bigquery.Schema `json:"-"`
}

// Tables returns the star-schema table definitions, by name. They are embedded,
// so they are read and checked once.
var Tables = sync.OnceValues(readTables)

func readTables() ([]TableDef, error) {
	var defs []TableDef
	err := eachFile(schemas.BigQuery, "bigquery/*.json", func(f, name string, b []byte) error {
		d := TableDef{Name: name}
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		var err error
		if d.Fields, err = bigquery.SchemaFromJSON(d.Schema); err != nil {
			return fmt.Errorf("%s: schema: %w", f, err)
		}
		defs = append(defs, d)
		return nil
	})
	return defs, err
}

// eachFile calls each with every file of fsys that matches pattern, its name
// without directory and extension, and its contents, in name order.
func eachFile(fsys fs.FS, pattern string, each func(file, name string, b []byte) error) error {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		if err := each(f, strings.TrimSuffix(path.Base(f), path.Ext(f)), b); err != nil {
			return err
		}
	}
	return nil
}

// EnsureSchema creates the dataset and every table that is missing, partitioned by
// day on the table's partition field and clustered as defined. It is idempotent.
// (Growing an existing table's columns is the warehouse load's job: the emulator
// supports neither ALTER TABLE ADD COLUMN nor a schema patch.)
func (w *Warehouse) EnsureSchema(ctx context.Context) error {
	if err := w.ensureDataset(ctx); err != nil {
		return err
	}
	defs, err := Tables()
	if err != nil {
		return err
	}
	for _, d := range defs {
		t := w.bq.Dataset(w.dataset).Table(d.Name)
		md, err := t.Metadata(ctx)
		if isStatus(err, http.StatusNotFound) {
			err = w.createTable(ctx, d, d.Fields)
		} else if err == nil {
			_, err = w.ensureExpiration(ctx, t, md)
		}
		if err != nil {
			return fmt.Errorf("table %s: %w", d.Name, err)
		}
	}
	return nil
}

func (w *Warehouse) ensureDataset(ctx context.Context) error {
	// Look before creating: the emulator answers a duplicate create with 500, not 409.
	ds := w.bq.Dataset(w.dataset)
	_, err := ds.Metadata(ctx)
	if isStatus(err, http.StatusNotFound) {
		err = ds.Create(ctx, &bigquery.DatasetMetadata{Description: "Kith star schema"})
		if isStatus(err, http.StatusConflict) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("dataset %s: %w", w.dataset, err)
	}
	return nil
}

// createTable creates a star-schema table, partitioned by day on its partition
// field and clustered as defined.
func (w *Warehouse) createTable(ctx context.Context, d TableDef, schema bigquery.Schema) error {
	meta := &bigquery.TableMetadata{Description: d.Description, Schema: schema}
	if d.PartitionField != "" {
		meta.TimePartitioning = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: d.PartitionField, Expiration: w.expiration(d.Name)}
	}
	if len(d.Clustering) > 0 {
		meta.Clustering = &bigquery.Clustering{Fields: d.Clustering}
	}
	err := w.bq.Dataset(w.dataset).Table(d.Name).Create(ctx, meta)
	if err != nil && !isStatus(err, http.StatusConflict) {
		return fmt.Errorf("create table %s: %w", d.Name, err)
	}
	return nil
}

func isStatus(err error, code int) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == code
}

// Query is one of the analysts' example queries in schemas/bigquery/queries.
type Query struct {
	Name string // file name without .sql
	SQL  string // with ${DATASET} for `project.dataset`
}

// Queries returns the example queries, by name.
func Queries() ([]Query, error) {
	var qs []Query
	err := eachFile(schemas.Queries, "bigquery/queries/*.sql", func(_, name string, b []byte) error {
		qs = append(qs, Query{Name: name, SQL: string(b)})
		return nil
	})
	return qs, err
}

// SQL is q's text for this warehouse's dataset.
func (w *Warehouse) SQL(q Query) string {
	return strings.ReplaceAll(q.SQL, "${DATASET}", w.project+"."+w.dataset)
}
