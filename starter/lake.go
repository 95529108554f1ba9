package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/lake"
	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

const lakeUsage = `usage:
  starter lake archive                       archive the spool to the bucket now (LakeArchive workflow)
  starter lake ls   --source S --dt DATE     list one partition's objects and lines
  starter lake load --source S --dt DATE     load one partition into a scratch BigQuery table
sources: tracking, forms, crm_webhook, crm_object, esp_webhook, import; DATE is YYYY-MM-DD (UTC)`

func runLake(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usagef("%s", lakeUsage)
	}
	switch args[0] {
	case "archive":
		return runLakeArchive(ctx, args[1:], e)
	case "ls", "load":
		return runLakePartition(ctx, args[0], args[1:], e)
	}
	return usagef("unknown lake command %q\n%s", args[0], lakeUsage)
}

func runLakeArchive(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("lake archive", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	maxLines := fs.Int("max-lines", 0, "lines per object (default 50,000)")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	c, err := temporalFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "lake-archive/manual-" + time.Now().UTC().Format("20060102T150405Z"), TaskQueue: workflows.TaskQueue,
	}, workflows.LakeArchiveName, workflows.LakeArchiveInput{Archive: activities.LakeArchiveInput{MaxLines: *maxLines}})
	if err != nil {
		return err
	}
	var res workflows.LakeArchiveResult
	if err := run.Get(ctx, &res); err != nil {
		return fmt.Errorf("lake archive (workflow %s): %w", run.GetID(), err)
	}
	fmt.Fprintf(e.stdout, "archived %d lines in %d objects (%d bytes gzipped); trimmed %d archived lines from the spool, deleted %d expired objects\n",
		res.Archived.Lines, res.Archived.Objects, res.Archived.Bytes, res.Expired.SpoolTrimmed, res.Expired.ObjectsDeleted)
	return nil
}

// partitionFlags reads --source and --dt.
func partitionFlags(name string, args []string, e env) (kith.LakeSource, time.Time, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	source := fs.String("source", "", "the lake source (tracking, forms, crm_webhook, crm_object, esp_webhook, import)")
	dt := fs.String("dt", time.Now().UTC().Format(time.DateOnly), "the partition's day, YYYY-MM-DD (UTC)")
	if err := fs.Parse(args); err != nil {
		return "", time.Time{}, usagef("%v", err)
	}
	src, ok := kith.ParseLakeSource(*source)
	if !ok {
		return "", time.Time{}, usagef("--source %q is not a lake source\n%s", *source, lakeUsage)
	}
	day, err := time.Parse(time.DateOnly, *dt)
	if err != nil {
		return "", time.Time{}, usagef("--dt %q must be a day, YYYY-MM-DD", *dt)
	}
	return src, day, nil
}

func runLakePartition(ctx context.Context, cmd string, args []string, e env) error {
	src, day, err := partitionFlags("lake "+cmd, args, e)
	if err != nil {
		return err
	}
	cfg, err := config.FromEnv(e.getenv, false)
	if err != nil {
		return err
	}
	b, err := lake.Open(ctx, cfg.LakeBucket, cfg.LakeEmulator)
	if err != nil {
		return err
	}
	defer b.Close()
	prefix := kith.LakePrefix(src, day)
	objects, err := lake.ReadObjects(ctx, b, prefix)
	if err != nil {
		return err
	}
	var lines []kith.LakeLine
	for _, o := range objects {
		if cmd == "ls" {
			fmt.Fprintf(e.stdout, "gs://%s/%s  %d lines, %d bytes\n", b.Name, o.Name, len(o.Lines), o.Bytes)
		}
		lines = append(lines, o.Lines...)
	}
	if cmd == "ls" {
		fmt.Fprintf(e.stdout, "%d objects, %d lines under gs://%s/%s\n", len(objects), len(lines), b.Name, prefix)
		return nil
	}
	if len(lines) == 0 {
		return fmt.Errorf("nothing archived under gs://%s/%s (run `starter lake archive` first, or pick another --dt)", b.Name, prefix)
	}
	if !cfg.BigQuery {
		return fmt.Errorf("BigQuery is not configured: set BIGQUERY_PROJECT, or BIGQUERY_EMULATOR_HOST for the emulator")
	}
	bq, err := warehouse.Open(ctx, cfg.BigQueryProject, cfg.BigQueryDataset, cfg.BigQueryEmulator)
	if err != nil {
		return err
	}
	defer bq.Close()
	table := warehouse.LakeTable(src, day)
	n, err := bq.LoadLake(ctx, table, lines)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "loaded %d lines from %d objects into %s (a scratch table of raw payloads: it expires in a day, and an erasure drops it)\n", n, len(objects), bq.LakeTableName(table))
	fmt.Fprintf(e.stdout, "try: SELECT verdict, count(*) FROM %s GROUP BY verdict\n", bq.LakeTableName(table))
	return nil
}

func runReplay(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	source := fs.String("source", "", "the source to replay: "+fmt.Sprint(activities.ReplaySources))
	today := time.Now().UTC().Format(time.DateOnly)
	from := fs.String("from", today, "first day, YYYY-MM-DD (UTC)")
	to := fs.String("to", today, "last day, YYYY-MM-DD (UTC), included")
	quarantined := fs.Bool("quarantined", false, "replay only what was quarantined when it arrived (fix a rule, then replay its refusals)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter replay --source import|crm_object --from DATE --to DATE [--quarantined]")
		fmt.Fprintln(e.stderr, "Re-runs archived records through today's standardization and identity rules (LakeReplay workflow) and prints what changed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	in := activities.ReplayInput{Source: kith.LakeSource(*source), From: *from, To: *to, OnlyQuarantined: *quarantined}
	if _, err := activities.ReplayDays(in); err != nil {
		return usagef("%v", err)
	}
	c, err := temporalFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, workflows.LakeReplayStartOptions(in), workflows.LakeReplayName, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "replaying %s %s..%s (workflow %s)\n", in.Source, in.From, in.To, run.GetID())
	var rep activities.ReplayReport
	if err := run.Get(ctx, &rep); err != nil {
		return err
	}
	printReplay(e, rep)
	return nil
}

func printReplay(e env, rep activities.ReplayReport) {
	fmt.Fprintf(e.stdout, "  %d records from %d objects\n", rep.Lines, rep.Objects)
	fmt.Fprintf(e.stdout, "  quarantined then, accepted now: %d; still quarantined: %d\n", rep.NowAccepted, rep.StillQuarantined)
	fmt.Fprintf(e.stdout, "  contacts created %d, updated %d, unchanged %d; values repaired %d; contacts merged %d\n",
		rep.Created, rep.Updated, rep.Unchanged, rep.Repaired, rep.Merged)
}
