package main

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/bigquery"
	"go.temporal.io/sdk/client"
	"google.golang.org/api/iterator"

	"github.com/kithhq/kith/schemas"
	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

// demoWarehouse runs the scheduled jobs once by hand — the nightly Cleaning, then
// the hourly WarehouseLoad — applies their schedules, and answers the analysts'
// example queries from BigQuery.
func demoWarehouse(ctx context.Context, c client.Client, wh *warehouse.Warehouse, e env) error {
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }
	say("cleaning every contact (Cleaning: re-standardize, merge duplicates, impute, score, archive)")
	var clean workflows.CleaningSummary
	if err := execute(ctx, c, "cleaning/demo", workflows.CleaningName, workflows.CleaningInput{}, &clean); err != nil {
		return err
	}
	say("cleaning done: %d checked, %d changed, %d values quarantined, %d ages imputed; %d merges (fixed point after %d resolution rounds), %d pairs to review; %d archived",
		clean.Standardized.Checked, clean.Standardized.Changed, clean.Standardized.Rejected, clean.Standardized.Imputed,
		clean.Deduplicated.Merges, clean.Deduplicated.Rounds, clean.Deduplicated.Review, clean.Archived.Inactive+clean.Archived.HardBounce+clean.Archived.Unsubscribed)
	if m := clean.Standardized.AgeModel; m.HeldOut > 0 {
		say("ages imputed from behaviour (k nearest neighbours over %d product categories) for %d contacts, the country median for the other %d; on %d known ages held back: mean absolute error %.1f years by behaviour vs %.1f by the country median",
			m.Categories, clean.Standardized.ImputedByBehaviour, clean.Standardized.Imputed-clean.Standardized.ImputedByBehaviour, m.HeldOut, m.MAEBehaviour, m.MAEMedian)
	}

	for i := range 2 {
		say("loading the star schema into BigQuery (WarehouseLoad), run %d", i+1)
		var res workflows.WarehouseLoadResult
		if err := execute(ctx, c, fmt.Sprintf("warehouse-load/demo-%d", i+1), workflows.WarehouseLoadName, workflows.WarehouseLoadInput{}, &res); err != nil {
			return err
		}
		for _, t := range res.Tables {
			fmt.Fprintf(e.stdout, "  %-12s %5d rows loaded; BigQuery %d rows = PostgreSQL %d\n", t.Table, t.Rows, t.Check.BigQuery, t.Check.Postgres)
		}
	}
	err := applySchedules(ctx, c, schemas.Schedules, func(id, verb string) {
		say("schedule %s %s (ops pause, trigger and backfill it in the Temporal UI, Schedules)", id, verb)
	})
	if err != nil {
		return err
	}

	qs, err := warehouse.Queries()
	if err != nil {
		return err
	}
	for _, q := range qs {
		say("BigQuery, %s (docs/analytics.md):", strings.ReplaceAll(q.Name, "_", " "))
		it, err := wh.Client().Query(wh.SQL(q)).Read(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", q.Name, err)
		}
		for n := 0; ; n++ {
			var row []bigquery.Value
			err := it.Next(&row)
			if err == iterator.Done {
				if n == 0 {
					fmt.Fprintln(e.stdout, "  (no rows)")
				}
				break
			}
			if err != nil {
				return err
			}
			if n == 0 {
				var names []string
				for _, f := range it.Schema {
					names = append(names, f.Name)
				}
				fmt.Fprintf(e.stdout, "  %s\n", strings.Join(names, " | "))
			}
			if n == 10 {
				fmt.Fprintln(e.stdout, "  …")
				break
			}
			parts := make([]string, len(row))
			for i, v := range row {
				parts[i] = fmt.Sprint(v)
				if r, ok := v.(interface{ FloatString(int) string }); ok {
					parts[i] = r.FloatString(2)
				}
			}
			fmt.Fprintf(e.stdout, "  %s\n", strings.Join(parts, " | "))
		}
	}
	return nil
}

// execute runs a workflow and waits for its result.
func execute(ctx context.Context, c client.Client, id, workflow string, in, out any) error {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflow, in)
	if err != nil {
		return err
	}
	return run.Get(ctx, out)
}
