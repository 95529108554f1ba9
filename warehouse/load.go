package warehouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/kithhq/kith"
)

// maxJobAttempts bounds the load jobs tried for one staging load: a job id that
// ended in failure cannot be reused, so the next attempt takes the next id.
const maxJobAttempts = 20

// jobLookupTimeout bounds looking a job up: the client retries server errors
// without end, and the activity's heartbeats would hide that.
const jobLookupTimeout = 20 * time.Second

// TableNames implements kith.Warehouse.
func (w *Warehouse) TableNames() ([]string, error) {
	defs, err := Tables()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.Name
	}
	return names, nil
}

func tableDef(table string) (TableDef, error) {
	defs, err := Tables()
	if err != nil {
		return TableDef{}, err
	}
	for _, d := range defs {
		if d.Name == table {
			return d, nil
		}
	}
	return TableDef{}, fmt.Errorf("no star-schema table %q in schemas/bigquery", table)
}

// Schema is the table's BigQuery schema for the source's columns: the declared
// columns (with their modes and descriptions; each must exist in the source with
// the same type), then the source's other columns, nullable, in source order.
func (d TableDef) SchemaFor(columns []kith.WarehouseColumn) (bigquery.Schema, error) {
	source := make(map[string]kith.WarehouseColumn, len(columns))
	for _, c := range columns {
		source[c.Name] = c
	}
	var out bigquery.Schema
	declared := map[string]bool{}
	for _, f := range d.Fields {
		c, ok := source[f.Name]
		if !ok {
			return nil, fmt.Errorf("schemas/bigquery/%s.json declares column %s, which the source view warehouse.%s lacks", d.Name, f.Name, d.Name)
		}
		if string(f.Type) != c.Type {
			return nil, fmt.Errorf("column %s.%s is %s in schemas/bigquery but %s in the source view", d.Name, f.Name, f.Type, c.Type)
		}
		declared[f.Name] = true
		out = append(out, f)
	}
	for _, c := range columns {
		if !declared[c.Name] {
			out = append(out, &bigquery.FieldSchema{Name: c.Name, Type: bigquery.FieldType(c.Type),
				Description: "From PostgreSQL view warehouse." + d.Name})
		}
	}
	return out, nil
}

// PrepareTable implements kith.Warehouse. Columns are added with a schema update
// (as nullable: BigQuery adds no required column to a table with rows). Where the
// update is accepted but does not take (the emulator), the table is recreated
// empty, after beforeRebuild has made sure it will be loaded again in full.
func (w *Warehouse) PrepareTable(ctx context.Context, table string, columns []kith.WarehouseColumn, beforeRebuild func() error) (bool, error) {
	d, err := tableDef(table)
	if err != nil {
		return false, err
	}
	want, err := d.SchemaFor(columns)
	if err != nil {
		return false, err
	}
	t := w.bq.Dataset(w.dataset).Table(table)
	md, err := t.Metadata(ctx)
	if isStatus(err, http.StatusNotFound) { // the first load: maybe of the dataset too
		if err := w.ensureDataset(ctx); err != nil {
			return false, err
		}
		return false, w.createTable(ctx, d, want)
	}
	if err != nil {
		return false, fmt.Errorf("table %s: %w", table, err)
	}
	if md, err = w.ensureExpiration(ctx, t, md); err != nil {
		return false, err
	}
	missing := missingFields(md.Schema, want)
	if len(missing) == 0 {
		return false, nil
	}
	grown := append(bigquery.Schema{}, md.Schema...)
	for _, f := range missing {
		c := *f
		c.Required = false
		grown = append(grown, &c)
	}
	if _, err := t.Update(ctx, bigquery.TableMetadataToUpdate{Schema: grown}, md.ETag); err != nil {
		return false, fmt.Errorf("add columns to %s: %w", table, err)
	}
	if md, err = t.Metadata(ctx); err != nil {
		return false, err
	}
	if len(missingFields(md.Schema, want)) == 0 {
		return false, nil
	}
	if err := beforeRebuild(); err != nil {
		return false, err
	}
	if err := t.Delete(ctx); err != nil && !isStatus(err, http.StatusNotFound) {
		return false, fmt.Errorf("recreate %s: %w", table, err)
	}
	return true, w.createTable(ctx, d, want)
}

func missingFields(have, want bigquery.Schema) bigquery.Schema {
	got := map[string]bool{}
	for _, f := range have {
		got[f.Name] = true
	}
	var missing bigquery.Schema
	for _, f := range want {
		if !got[f.Name] {
			missing = append(missing, f)
		}
	}
	return missing
}

// Stage implements kith.Warehouse. The job id is kith_load_<dataset>_<jobKey>: a
// job with that id that succeeded (and whose staging table is still there) means
// the rows are staged already, so a retried activity never loads twice; one that
// failed passes to the next id (_r1, _r2, …), as BigQuery never reuses a job id.
func (w *Warehouse) Stage(ctx context.Context, table, jobKey string, columns []kith.WarehouseColumn, ndjson io.ReadSeeker, rows int64) (string, int64, error) {
	d, err := tableDef(table)
	if err != nil {
		return "", 0, err
	}
	schema, err := d.SchemaFor(columns)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256([]byte(w.dataset + "/" + jobKey))
	staging := "_stage_" + table + "_" + hex.EncodeToString(sum[:6])
	st := w.bq.Dataset(w.dataset).Table(staging)
	base := "kith_load_" + jobID(w.dataset+"_"+jobKey)
	for attempt := 0; attempt < maxJobAttempts; attempt++ {
		id := base
		if attempt > 0 {
			id = fmt.Sprintf("%s_r%d", base, attempt)
		}
		found, succeeded, err := w.lookUpJob(ctx, id)
		if err != nil {
			return "", 0, err // the activity's retry looks again
		}
		if !found {
			if err := w.runLoad(ctx, st, schema, id, ndjson); err != nil {
				return "", 0, err
			}
		} else if !succeeded {
			continue // an earlier attempt's job failed
		}
		if _, err := st.Metadata(ctx); isStatus(err, http.StatusNotFound) {
			continue // staged long ago and dropped since
		} else if err != nil {
			return "", 0, err
		}
		n, err := w.count(ctx, "SELECT count(*) FROM "+w.Table(staging))
		if err != nil {
			return "", 0, err
		}
		if n == 0 && rows > 0 {
			// The job did not fill it: the emulator reports a load refused at
			// insert as done without error.
			continue
		}
		return staging, n, nil
	}
	return "", 0, fmt.Errorf("stage %s: %d load jobs failed in a row", table, maxJobAttempts)
}

// lookUpJob finds a job and, waiting for it to end, whether it succeeded.
func (w *Warehouse) lookUpJob(ctx context.Context, id string) (found, succeeded bool, err error) {
	lookup, cancel := context.WithTimeout(ctx, jobLookupTimeout)
	defer cancel()
	job, err := w.bq.JobFromID(lookup, id)
	if isStatus(err, http.StatusNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("look up job %s: %w", id, err)
	}
	status, err := job.Wait(ctx)
	if err != nil {
		return true, false, fmt.Errorf("job %s: %w", id, err)
	}
	return true, status.Err() == nil, nil
}

// runLoad creates the staging table and loads ndjson into it with job id. A
// job that fails is reported with BigQuery's reasons; the activity's retry
// passes to the next id.
func (w *Warehouse) runLoad(ctx context.Context, st *bigquery.Table, schema bigquery.Schema, id string, ndjson io.ReadSeeker) error {
	if err := st.Delete(ctx); err != nil && !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("clear staging table %s: %w", st.TableID, err)
	}
	meta := &bigquery.TableMetadata{Schema: schema, ExpirationTime: time.Now().Add(24 * time.Hour)}
	if err := st.Create(ctx, meta); err != nil {
		return fmt.Errorf("create staging table %s: %w", st.TableID, err)
	}
	if _, err := ndjson.Seek(0, io.SeekStart); err != nil {
		return err
	}
	src := bigquery.NewReaderSource(ndjson)
	src.SourceFormat = bigquery.JSON
	l := st.LoaderFrom(src)
	l.JobID = id
	l.CreateDisposition = bigquery.CreateNever
	l.WriteDisposition = bigquery.WriteTruncate
	l.MediaOptions = w.media
	job, err := l.Run(ctx)
	if err != nil && alreadyExists(err) {
		// Started by a request whose answer was lost: that job is this load.
		job, err = w.bq.JobFromID(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("load job %s: %w", id, err)
	}
	status, err := job.Wait(ctx)
	if err == nil {
		err = status.Err()
	}
	if err != nil {
		return fmt.Errorf("load job %s: %w", id, err)
	}
	return nil
}

// alreadyExists: BigQuery answers a duplicate job id with 409; the emulator with
// 500 "already created".
func alreadyExists(err error) bool {
	return isStatus(err, http.StatusConflict) || strings.Contains(err.Error(), "already created")
}

// jobID keeps the characters a BigQuery job id may hold.
func jobID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// Upsert implements kith.Warehouse: one transaction deletes the target's rows
// whose key is staged and inserts the staged rows (the emulator runs no MERGE;
// this is valid BigQuery too).
func (w *Warehouse) Upsert(ctx context.Context, table, staging string, columns []kith.WarehouseColumn) error {
	d, err := tableDef(table)
	if err != nil {
		return err
	}
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = "`" + c.Name + "`"
	}
	list := strings.Join(names, ", ")
	key := "`" + d.Key + "`"
	q := fmt.Sprintf("BEGIN TRANSACTION;\nDELETE FROM %[1]s WHERE %[2]s IN (SELECT %[2]s FROM %[3]s);\n"+
		"INSERT INTO %[1]s (%[4]s) SELECT %[4]s FROM %[3]s;\nCOMMIT TRANSACTION;",
		w.Table(table), key, w.Table(staging), list)
	return w.exec(ctx, q)
}

// DropStaging implements kith.Warehouse.
func (w *Warehouse) DropStaging(ctx context.Context, staging string) error {
	err := w.bq.Dataset(w.dataset).Table(staging).Delete(ctx)
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("drop %s: %w", staging, err)
	}
	return nil
}

// TableState implements kith.Warehouse.
func (w *Warehouse) TableState(ctx context.Context, table string, r kith.Retained) (kith.WarehouseTableState, error) {
	d, err := tableDef(table)
	if err != nil {
		return kith.WarehouseTableState{}, err
	}
	where := "TRUE"
	if !r.Since.IsZero() {
		where = fmt.Sprintf("`%s` >= TIMESTAMP '%s'", r.Column, r.Since.UTC().Format("2006-01-02 15:04:05.999999"))
	}
	row, err := w.queryRow(ctx, fmt.Sprintf("SELECT count(*), count(DISTINCT `%s`) FROM %s WHERE %s", d.Key, w.Table(table), where))
	if err != nil {
		return kith.WarehouseTableState{}, fmt.Errorf("count %s: %w", table, err)
	}
	rows, _ := row[0].(int64)
	keys, _ := row[1].(int64)
	return kith.WarehouseTableState{Rows: rows, Keys: keys}, nil
}

func (w *Warehouse) count(ctx context.Context, q string) (int64, error) {
	row, err := w.queryRow(ctx, q)
	if err != nil {
		return 0, err
	}
	n, _ := row[0].(int64)
	return n, nil
}

// queryRow runs a query that answers one row.
func (w *Warehouse) queryRow(ctx context.Context, q string) ([]bigquery.Value, error) {
	it, err := w.bq.Query(q).Read(ctx)
	if err != nil {
		return nil, err
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		if errors.Is(err, iterator.Done) {
			return nil, fmt.Errorf("no row from %q", q)
		}
		return nil, err
	}
	return row, nil
}

func (w *Warehouse) exec(ctx context.Context, q string) error {
	job, err := w.bq.Query(q).Run(ctx)
	if err != nil {
		return err
	}
	st, err := job.Wait(ctx)
	if err != nil {
		return err
	}
	return st.Err()
}

// EraseRows implements kith.WarehouseEraser.
func (w *Warehouse) EraseRows(ctx context.Context, table string, keys []string) (int64, error) {
	d, err := tableDef(table)
	if err != nil {
		return 0, err
	}
	where := fmt.Sprintf("`%s` IN UNNEST(@keys)", d.Key)
	return w.dml(ctx, table, where, "DELETE FROM %s WHERE "+where, keys)
}

// DetachOrders implements kith.WarehouseEraser.
func (w *Warehouse) DetachOrders(ctx context.Context, contactIDs []string) (int64, error) {
	const where = "contact_id IN UNNEST(@keys)"
	return w.dml(ctx, "fact_order", where, "UPDATE %s SET contact_id = NULL WHERE "+where, contactIDs)
}

// dml counts table's rows matching where and runs stmt (its %s the table) on
// them, with @keys bound to keys.
func (w *Warehouse) dml(ctx context.Context, table, where, stmt string, keys []string) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	if _, err := w.bq.Dataset(w.dataset).Table(table).Metadata(ctx); isStatus(err, http.StatusNotFound) {
		return 0, nil // never loaded (an erasure before the first load): nothing there
	} else if err != nil {
		return 0, fmt.Errorf("look up %s: %w", table, err)
	}
	params := []bigquery.QueryParameter{{Name: "keys", Value: keys}}
	q := w.bq.Query(fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", w.Table(table), where))
	q.Parameters = params
	it, err := q.Read(ctx)
	if err != nil {
		return 0, fmt.Errorf("count %s rows to erase: %w", table, err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		return 0, fmt.Errorf("count %s rows to erase: %w", table, err)
	}
	n, _ := row[0].(int64)
	if n == 0 {
		return 0, nil
	}
	q = w.bq.Query(fmt.Sprintf(stmt, w.Table(table)))
	q.Parameters = params
	job, err := q.Run(ctx)
	if err != nil {
		return 0, fmt.Errorf("erase from %s: %w", table, err)
	}
	st, err := job.Wait(ctx)
	if err == nil {
		err = st.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("erase from %s: %w", table, err)
	}
	return n, nil
}

// CountRows implements kith.WarehouseCounter: a table never loaded has none.
// A bare count(*) is answered from BigQuery's metadata, so the report page
// costs no bytes scanned.
func (w *Warehouse) CountRows(ctx context.Context, table string) (int, error) {
	if _, err := tableDef(table); err != nil {
		return 0, err
	}
	n, err := w.count(ctx, "SELECT count(*) FROM "+w.Table(table))
	if isStatus(err, http.StatusNotFound) {
		return 0, nil
	}
	return int(n), err
}
