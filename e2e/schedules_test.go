package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/kithhq/kith/workflows"
)

func TestSchedulesApplyIsIdempotentAndTriggerRuns(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	for i, want := range []string{"created", "updated"} {
		out, err := e.cmd("starter", "schedules", "apply").CombinedOutput()
		if err != nil {
			t.Fatalf("apply %d: %v\n%s", i+1, err, out)
		}
		for _, id := range []string{"crm-backfill-hubspot", "personalization-nightly", "cleaning-nightly", "warehouse-load-hourly"} {
			if !strings.Contains(string(out), id) || !strings.Contains(string(out), want) {
				t.Errorf("apply %d: want %s %s in\n%s", i+1, id, want, out)
			}
		}
	}
	temporal, err := filepath.Abs("../bin/temporal")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(temporal, "schedule", "list", "--address", stack.Temporal.Address, "--namespace", stack.Temporal.Namespace).CombinedOutput()
	if err != nil {
		t.Fatalf("temporal schedule list: %v\n%s", err, out)
	}
	for _, id := range []string{"crm-backfill-hubspot", "personalization-nightly", "cleaning-nightly", "warehouse-load-hourly"} {
		if !strings.Contains(string(out), id) {
			t.Errorf("temporal schedule list does not show %s:\n%s", id, out)
		}
	}
	for _, id := range []string{"personalization-nightly", "cleaning-nightly", "warehouse-load-hourly"} {
		if out, err := exec.Command(temporal, "schedule", "trigger", "--schedule-id", id,
			"--address", stack.Temporal.Address, "--namespace", stack.Temporal.Namespace).CombinedOutput(); err != nil {
			t.Fatalf("temporal schedule trigger %s: %v\n%s", id, err, out)
		}
	}
	if dir := os.Getenv("KITH_SCREENSHOTS"); dir != "" {
		screenshot(t, stack.Temporal.UIURL+"/namespaces/"+stack.Temporal.Namespace+"/schedules", filepath.Join(dir, "schedules.png"))
	}
	c := temporalClient(t)
	for _, wf := range []string{"Personalization", "Cleaning", "WarehouseLoad"} {
		var done *workflowpb.WorkflowExecutionInfo
		waitFor(t, "the triggered "+wf+" run to complete", 2*time.Minute, func() bool {
			resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
				Query: "WorkflowType = '" + wf + "' AND ExecutionStatus = 'Completed'",
			})
			if err == nil && len(resp.Executions) > 0 {
				done = resp.Executions[0]
			}
			return done != nil
		})
		switch wf {
		case "Cleaning":
			recordHistory(t, done.Execution.WorkflowId, done.Execution.RunId, "cleaning_triggered.json")
		case "Personalization":
			recordHistory(t, done.Execution.WorkflowId, done.Execution.RunId, "personalization_triggered.json")
		}
	}
	// Deduplicate has no schedule of its own (the Cleaning runs it as a step); ops
	// start it from the UI or the CLI.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, workflowsStart("deduplicate/e2e"), workflows.DeduplicateName)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	recordHistory(t, run.GetID(), run.GetRunID(), "deduplicate.json")
}
