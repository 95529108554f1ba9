package warehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"cloud.google.com/go/bigquery"

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

// LakeTable is the scratch table one partition of the lake loads into.
func LakeTable(src kith.LakeSource, day time.Time) string {
	return "lake_" + string(src) + "_" + day.UTC().Format("20060102")
}

// LoadLake loads lines into the scratch table (replacing what a load before
// put there; it expires after a day) with one load job, and returns how many
// rows it holds.
func (w *Warehouse) LoadLake(ctx context.Context, table string, lines []kith.LakeLine) (int64, error) {
	if err := w.ensureDataset(ctx); err != nil {
		return 0, err
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
	if err := w.runLoad(ctx, w.bq.Dataset(w.dataset).Table(table), lakeSchema, id, bytes.NewReader(buf.Bytes())); err != nil {
		return 0, err
	}
	return w.count(ctx, "SELECT count(*) FROM "+w.Table(table))
}
