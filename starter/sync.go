package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/workflows"
)

func runSync(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	provider := fs.String("provider", "hubspot", "the CRM to pull from")
	pageSize := fs.Int("page-size", 100, "contacts per page (HubSpot allows at most 100)")
	schedule := fs.Duration("every", 0, "instead of running now, create or update the Temporal Schedule that runs the backfill at this interval (e.g. 1h)")
	detach := fs.Bool("detach", false, "start the backfill and return without waiting")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter sync [-provider hubspot] [-every 1h] [-detach]")
		fmt.Fprintln(e.stderr, "Pulls every CRM contact changed since the stored cursor (CRMBackfill workflow).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if *pageSize < 1 || *pageSize > 100 {
		return usagef("-page-size must be between 1 and 100")
	}
	c, err := temporalFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	in := workflows.CRMBackfillInput{Provider: *provider, PageSize: *pageSize}
	if *schedule > 0 {
		return applyBackfillSchedule(ctx, c, in, *schedule, e)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.CRMBackfillWorkflowID(*provider),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, // one backfill per CRM at a time
	}, workflows.CRMBackfillName, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backfill %s running (workflow %s)\n", *provider, run.GetID())
	if *detach {
		return nil
	}
	var res workflows.CRMBackfillResult
	// GetWorkflow follows the run chain across continue-as-new.
	if err := c.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &res); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backfill done: %d pages, %d contacts, %d quarantined; next pull from %s\n",
		res.Pages, res.Contacts, res.Quarantined, res.Cursor.Since.Format(time.RFC3339))
	return nil
}

// applyBackfillSchedule creates the provider's backfill schedule, or updates its
// interval; ops pause, trigger and edit it in the Temporal UI's Schedules page.
func applyBackfillSchedule(ctx context.Context, c client.Client, in workflows.CRMBackfillInput, every time.Duration, e env) error {
	verb, err := applySchedule(ctx, c, client.ScheduleOptions{
		ID:   "crm-backfill-" + in.Provider,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}, Jitter: every / 10},
		Action: &client.ScheduleWorkflowAction{
			ID: workflows.CRMBackfillWorkflowID(in.Provider), Workflow: workflows.CRMBackfillName,
			Args: []any{in}, TaskQueue: workflows.TaskQueue,
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, // a backfill still running makes the next one pointless
		CatchupWindow: every,
	})
	if err == nil {
		fmt.Fprintf(e.stdout, "schedule crm-backfill-%s %s: every %s (pause or trigger it in the Temporal UI, Schedules)\n", in.Provider, verb, every)
	}
	return err
}

func isAlreadyExists(err error) bool {
	var ae *serviceerror.AlreadyExists
	return errors.As(err, &ae)
}
