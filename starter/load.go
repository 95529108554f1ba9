package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/workflows"
)

func runLoad(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	tables := fs.String("tables", "", "comma-separated star-schema tables (default: all)")
	overlap := fs.Int("overlap-minutes", 10, "re-read writes this many minutes before each watermark")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter load [-tables dim_contact,fact_event] [-overlap-minutes 10]")
		fmt.Fprintln(e.stderr, "Loads rows changed since each table's watermark into BigQuery (WarehouseLoad workflow) and prints what it did.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if *overlap < 1 {
		return usagef("-overlap-minutes must be at least 1")
	}
	in := workflows.WarehouseLoadInput{OverlapMinutes: *overlap}
	for _, t := range strings.Split(*tables, ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.Tables = append(in.Tables, t)
		}
	}
	c, err := temporalFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	// Two loads of a table at once could upsert an older window after a newer one:
	// the schedule skips while a load runs, and so does this command.
	running, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowType = '" + workflows.WarehouseLoadName + "' AND ExecutionStatus = 'Running'",
	})
	if err != nil {
		return err
	}
	if len(running.Executions) > 0 {
		return fmt.Errorf("a warehouse load is running (workflow %s): wait for it, or cancel it in the Temporal UI, then try again",
			running.Executions[0].Execution.GetWorkflowId())
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        "warehouse-load/manual-" + time.Now().UTC().Format("20060102T150405Z"),
		TaskQueue: workflows.TaskQueue,
	}, workflows.WarehouseLoadName, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "warehouse load running (workflow %s)\n", run.GetID())
	var res workflows.WarehouseLoadResult
	err = run.Get(ctx, &res)
	for _, t := range res.Tables {
		fmt.Fprintf(e.stdout, "  %-12s %7d rows loaded; BigQuery %d rows, PostgreSQL %d\n", t.Table, t.Rows, t.Check.BigQuery, t.Check.Postgres)
	}
	return err
}
