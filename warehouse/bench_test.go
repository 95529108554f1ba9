package warehouse_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

// BenchmarkWarehouseLoad measures WarehouseLoad's rows per second into the
// BigQuery emulator from real PostgreSQL: a full load of the four star-schema
// tables (extract, load job into staging, DELETE+INSERT upsert, watermark, drop
// staging, count check) into a fresh dataset, beside the baseline of bare load
// jobs of the same rows (already extracted to files) into fresh tables, in
// alternating rounds; then an incremental load after 2% of the contacts changed
// (the seeded rows were written an hour before, beyond the ten-minute overlap).
// tools/bench.sh writes the medians to docs/benchmarks.md.
func BenchmarkWarehouseLoad(b *testing.B) {
	const contacts, events, orders, tickets, rounds = 20000, 60000, 5000, 1000, 3
	e := newLoadEnv(b, "bench_load")
	e.seed(contacts, events, orders, tickets)
	total := float64(contacts + events + orders + tickets)
	ctx := context.Background()
	files := extractAll(b, e)
	defs, err := warehouse.Tables()
	if err != nil {
		b.Fatal(err)
	}
	var full, bare, incremental []float64
	var changed int64
	for b.Loop() {
		for r := range rounds {
			for _, t := range []string{"contacts", "events", "orders", "tickets"} { // all written an hour ago
				e.exec("ALTER TABLE " + t + " DISABLE TRIGGER " + t + "_changed_at")
				e.exec("UPDATE " + t + " SET changed_at = changed_at - interval '1 hour'")
				e.exec("ALTER TABLE " + t + " ENABLE TRIGGER " + t + "_changed_at")
			}
			ds := e.wh.Client().Dataset(fmt.Sprintf("bench_bare_%d", r))
			if err := ds.Create(ctx, nil); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for _, d := range defs {
				bareLoad(b, ds.Table(d.Name), d.Fields, files[d.Name])
			}
			bare = append(bare, total/time.Since(start).Seconds())

			run := newRound(b, e, fmt.Sprintf("bench_full_%d", r))
			start = time.Now()
			run.load(workflows.WarehouseLoadInput{})
			full = append(full, total/time.Since(start).Seconds())

			e.exec(fmt.Sprintf("UPDATE contacts SET city = 'Moved %d' WHERE ('x' || substr(md5(id::text), 1, 4))::bit(16)::int %% 50 = %d", r, r))
			start = time.Now()
			res := run.load(workflows.WarehouseLoadInput{})
			incremental = append(incremental, time.Since(start).Seconds())
			changed = res.Tables[0].Rows
			run.sameCounts()
		}
	}
	b.ReportMetric(median(full), "load_rows_per_s")
	b.ReportMetric(median(bare), "bare_load_job_rows_per_s")
	b.ReportMetric(median(incremental), "incremental_load_s")
	b.ReportMetric(float64(changed), "incremental_rows")
	b.ReportMetric(total, "rows")
}

// newRound is the environment's database with a fresh dataset: nothing loaded.
func newRound(b *testing.B, e *loadEnv, dataset string) *loadEnv {
	e.exec("DELETE FROM load_watermarks")
	w := open(b, dataset)
	return &loadEnv{t: b, store: e.store, wh: w, dataset: dataset,
		acts: &activities.Warehouse{Source: e.store, Target: w}}
}

// extractAll writes each table's rows to a file of newline-delimited JSON.
func extractAll(b *testing.B, e *loadEnv) map[string]*os.File {
	ctx := context.Background()
	files := map[string]*os.File{}
	for _, table := range starTables {
		cols, err := e.store.SourceColumns(ctx, table)
		if err != nil {
			b.Fatal(err)
		}
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		f, err := os.CreateTemp(b.TempDir(), table)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.store.ExtractChanged(ctx, table, names, time.Unix(0, 0), time.Now().Add(time.Hour), f); err != nil {
			b.Fatal(err)
		}
		files[table] = f
	}
	return files
}

func bareLoad(b *testing.B, t *bigquery.Table, schema bigquery.Schema, f *os.File) {
	ctx := context.Background()
	if err := t.Create(ctx, &bigquery.TableMetadata{Schema: schema}); err != nil {
		b.Fatal(err)
	}
	f.Seek(0, 0)
	src := bigquery.NewReaderSource(f)
	src.SourceFormat = bigquery.JSON
	job, err := t.LoaderFrom(src).Run(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if st, err := job.Wait(ctx); err != nil || st.Err() != nil {
		b.Fatalf("bare load: %v %v", err, st.Err())
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
