package warehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/kithhq/kith"
)

// lakeSchema is a raw lake line as a BigQuery row: the payload (and the
// counts) as JSON text, which JSON_VALUE and JSON_QUERY read.
var lakeSchema = bigquery.Schema{
	{Name: "received_at", Type: bigquery.TimestampFieldType, Required: true},
	{Name: "source", Type: bigquery.StringFieldType, Required: true},
	{Name: "request_id", Type: bigquery.StringFieldType},
	{Name: "ref", Type: bigquery.StringFieldType},
	{Name: "verdict", Type: bigquery.StringFieldType, Required: true},
	{Name: "codes", Type: bigquery.StringFieldType, Repeated: true},
	{Name: "counts", Type: bigquery.StringFieldType},
	{Name: "payload", Type: bigquery.StringFieldType},
}

// LakeDataset is where lake partitions are loaded: a dataset apart from the
// star schema's (which holds no raw personal data), for its own access rules.
func (w *Warehouse) LakeDataset() string { return w.dataset + "_raw" }

// LakeTable is the scratch table one partition of the lake loads into.
func LakeTable(src kith.LakeSource, day time.Time) string {
	return "lake_" + string(src) + "_" + day.UTC().Format("20060102")
}

// LoadLake loads lines into the scratch table (replacing what a load before
// put there; it expires after a day) with one load job, and returns how many
// rows it holds.
func (w *Warehouse) LoadLake(ctx context.Context, table string, lines []kith.LakeLine) (int64, error) {
	ds := w.bq.Dataset(w.LakeDataset())
	if _, err := ds.Metadata(ctx); isStatus(err, http.StatusNotFound) {
		err = ds.Create(ctx, &bigquery.DatasetMetadata{Description: "Kith raw lake partitions loaded for ad-hoc questions (raw personal data; tables expire in a day)"})
		if err != nil && !isStatus(err, http.StatusConflict) {
			return 0, fmt.Errorf("dataset %s: %w", w.LakeDataset(), err)
		}
	} else if err != nil {
		return 0, fmt.Errorf("dataset %s: %w", w.LakeDataset(), err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, l := range lines {
		row := map[string]any{"received_at": l.ReceivedAt.UTC().Format(time.RFC3339Nano), "source": l.Source,
			"request_id": l.RequestID, "ref": l.Ref, "verdict": l.Verdict, "codes": l.Codes, "payload": string(l.Payload)}
		if l.Codes == nil {
			row["codes"] = []string{}
		}
		if len(l.Counts) > 0 {
			b, _ := json.Marshal(l.Counts)
			row["counts"] = string(b)
		}
		if err := enc.Encode(row); err != nil {
			return 0, err
		}
	}
	id := fmt.Sprintf("kith_lake_%s_%d", jobID(w.dataset+"_"+table), time.Now().UnixNano())
	if err := w.runLoad(ctx, ds.Table(table), lakeSchema, id, bytes.NewReader(buf.Bytes())); err != nil {
		return 0, err
	}
	return w.count(ctx, "SELECT count(*) FROM "+w.LakeTableName(table))
}

// LakeTableName is a scratch table's name as queries write it.
func (w *Warehouse) LakeTableName(table string) string {
	return fmt.Sprintf("`%s.%s.%s`", w.bq.Project(), w.LakeDataset(), table)
}

// DropLakeTables implements kith.WarehouseEraser.
func (w *Warehouse) DropLakeTables(ctx context.Context) (int64, error) {
	it := w.bq.Dataset(w.LakeDataset()).Tables(ctx)
	var n int64
	for {
		t, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return n, nil
		}
		if isStatus(err, http.StatusNotFound) {
			return n, nil // no lake partition was ever loaded
		}
		if err != nil {
			return n, fmt.Errorf("list %s: %w", w.LakeDataset(), err)
		}
		if !strings.HasPrefix(t.TableID, "lake_") {
			continue
		}
		if err := t.Delete(ctx); err != nil && !isStatus(err, http.StatusNotFound) {
			return n, fmt.Errorf("drop %s: %w", t.TableID, err)
		}
		n++
	}
}
