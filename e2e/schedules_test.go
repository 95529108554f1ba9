package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

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
	c := temporalClient(t)
	// The schedules stay on the shared Temporal server after this test; left
	// there, they would start runs on the next tests' workers, against those
	// tests' databases.
	t.Cleanup(func() { deleteSchedules(t, c) })
	for _, s := range []struct{ id, history string }{
		{"personalization-nightly", "personalization_triggered.json"},
		{"cleaning-nightly", "cleaning_triggered.json"},
		{"warehouse-load-hourly", ""},
	} {
		since := time.Now().Add(-time.Second)
		if out, err := exec.Command(temporal, "schedule", "trigger", "--schedule-id", s.id,
			"--address", stack.Temporal.Address, "--namespace", stack.Temporal.Namespace).CombinedOutput(); err != nil {
			t.Fatalf("temporal schedule trigger %s: %v\n%s", s.id, err, out)
		}
		run := triggeredRun(t, c, s.id, since)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := c.GetWorkflow(ctx, run.WorkflowID, run.FirstExecutionRunID).Get(ctx, nil)
		cancel()
		if err != nil {
			t.Fatalf("the run schedule %s started (%s): %v", s.id, run.WorkflowID, err)
		}
		if s.history != "" {
			recordHistory(t, run.WorkflowID, run.FirstExecutionRunID, s.history)
		}
	}
	if dir := os.Getenv("KITH_SCREENSHOTS"); dir != "" {
		screenshot(t, stack.Temporal.UIURL+"/namespaces/"+stack.Temporal.Namespace+"/schedules", filepath.Join(dir, "schedules.png"))
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

// triggeredRun waits for the run that schedule id started at or after since.
func triggeredRun(t *testing.T, c client.Client, id string, since time.Time) *client.ScheduleWorkflowExecution {
	t.Helper()
	h := c.ScheduleClient().GetHandle(context.Background(), id)
	var run *client.ScheduleWorkflowExecution
	waitFor(t, "schedule "+id+" to start its run", 2*time.Minute, func() bool {
		d, err := h.Describe(context.Background())
		if err != nil {
			return false
		}
		for _, a := range d.Info.RecentActions {
			if !a.ActualTime.Before(since) && a.StartWorkflowResult != nil {
				run = a.StartWorkflowResult
			}
		}
		return run != nil
	})
	return run
}

// deleteSchedules deletes every schedule on the shared server and ends the runs
// they still have going.
func deleteSchedules(t *testing.T, c client.Client) {
	ctx := context.Background()
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		t.Errorf("list schedules: %v", err)
		return
	}
	for it.HasNext() {
		entry, err := it.Next()
		if err != nil {
			t.Errorf("list schedules: %v", err)
			return
		}
		h := c.ScheduleClient().GetHandle(ctx, entry.ID)
		d, err := h.Describe(ctx)
		if err != nil {
			t.Errorf("describe schedule %s: %v", entry.ID, err)
			continue
		}
		if err := h.Delete(ctx); err != nil {
			t.Errorf("delete schedule %s: %v", entry.ID, err)
		}
		for _, run := range d.Info.RunningWorkflows {
			if err := c.TerminateWorkflow(ctx, run.WorkflowID, "", "the test that made its schedule has ended"); err != nil {
				t.Logf("terminate %s: %v", run.WorkflowID, err)
			}
		}
	}
}
