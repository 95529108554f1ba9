package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/httpapi"
	"github.com/kithhq/kith/warehouse"
)

// runReport prints the data-quality figures or writes the report page, the
// same one `starter serve` shows at /reports/quality, as a static file:
//
//	starter report [-html FILE]
func runReport(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	htmlOut := fs.String("html", "", "write the report page (self-contained HTML, works offline) to this file")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("report takes no arguments (got %q)", fs.Arg(0))
	}
	cfg, store, err := storeFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer store.Close()
	var counter kith.WarehouseCounter
	if cfg.BigQuery {
		bq, err := warehouse.Open(ctx, cfg.BigQueryProject, cfg.BigQueryDataset, cfg.BigQueryEmulator)
		if err != nil {
			return err
		}
		defer bq.Close()
		counter = bq
	}
	rep, err := httpapi.LoadQualityReport(ctx, store, counter, time.Now())
	if err != nil {
		return err
	}
	if *htmlOut == "" {
		printReport(e.stdout, rep)
		return nil
	}
	var b bytes.Buffer
	if err := httpapi.WriteQualityReport(&b, rep); err != nil {
		return err
	}
	if err := os.WriteFile(*htmlOut, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote the data-quality report to %s (%d bytes; open it in a browser, it needs no network)\n", *htmlOut, b.Len())
	return nil
}

// printReport prints the report's headline figures as text.
func printReport(w io.Writer, r kith.QualityReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "data quality at %s\n", r.At.Format(time.RFC3339))
	for _, c := range r.Contacts {
		fmt.Fprintf(tw, "  contacts %s\t%d\n", c.Key, c.N)
	}
	fmt.Fprintf(tw, "  mean completeness\t%.1f\n", r.Completeness.Mean)
	refused := 0
	for _, v := range r.Violations {
		refused += v.N
	}
	repaired := 0
	for _, v := range r.Repairs {
		repaired += v.N
	}
	fmt.Fprintf(tw, "  refused values (in quarantine)\t%d\n", refused)
	fmt.Fprintf(tw, "  repairs and warnings at ingestion\t%d\n", repaired)
	fmt.Fprintf(tw, "  merges in force / pairs to review\t%d / %d\n", r.Dedup.Merged, r.Dedup.ReviewPending)
	for _, im := range r.Imputed {
		fmt.Fprintf(tw, "  imputed %s by %s\t%d (mean confidence %.2f)\n", im.Field, im.Method, im.N, im.MeanConfidence)
	}
	for _, a := range r.Archived {
		fmt.Fprintf(tw, "  archived (%s)\t%d\n", a.Key, a.N)
	}
	for _, t := range r.Warehouse {
		fmt.Fprintf(tw, "  warehouse %s: PostgreSQL / BigQuery\t%d / %s\n", t.Table, t.Postgres, bqCount(t.BigQuery))
	}
	tw.Flush()
}

func bqCount(n int) string {
	if n < 0 {
		return "not configured"
	}
	return fmt.Sprint(n)
}
