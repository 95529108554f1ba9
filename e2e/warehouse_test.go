package e2e_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

// TestWarehouseLoadResumesAfterWorkerIsKilled kills the worker while a table is
// being staged; the load, resumed by a second worker, ends with every BigQuery
// table holding exactly PostgreSQL's rows, each key once.
func TestWarehouseLoadResumesAfterWorkerIsKilled(t *testing.T) {
	e := newEnv(t)
	seed, err := os.ReadFile("../warehouse/testdata/seed.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.DB().Exec(strings.NewReplacer(":contacts", "20000", ":events", "40000", ":orders", "3000", ":tickets", "500").
		Replace(string(seed))); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, stack.BigQuery.Project, e.dataset, stack.BigQuery.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()

	c := temporalClient(t)
	first := e.startWorker()
	run, err := c.ExecuteWorkflow(ctx, workflowsStart("warehouse-load/e2e-"+t.Name()), workflows.WarehouseLoadName, workflows.WarehouseLoadInput{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a table to be staging", 2*time.Minute, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			return false
		}
		for _, pa := range d.PendingActivities {
			if pa.ActivityType.GetName() == "StageLoad" && pa.State == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // into the extract or the load job
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if st := d.WorkflowExecutionInfo.Status; st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the load was %s when the worker was killed, want running", st)
	}
	e.startWorker()

	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var res workflows.WarehouseLoadResult
	if err := run.Get(wctx, &res); err != nil {
		if d, derr := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID()); derr == nil {
			for _, pa := range d.PendingActivities {
				t.Logf("pending %s: attempt %d, state %s, last failure %v", pa.ActivityType.GetName(), pa.Attempt, pa.State, pa.LastFailure)
			}
		}
		t.Fatal(err)
	}
	sameAsPostgres := func(when string) {
		for _, table := range []string{"dim_contact", "fact_event", "fact_order", "fact_ticket"} {
			st, err := wh.TableState(ctx, table, kith.Retained{})
			if err != nil {
				t.Fatal(err)
			}
			want := e.count("SELECT count(*) FROM warehouse." + table)
			if st.Rows != int64(want) || st.Keys != int64(want) {
				t.Errorf("%s: BigQuery %s has %d rows, %d keys; PostgreSQL %d rows", when, table, st.Rows, st.Keys, want)
			}
		}
	}
	sameAsPostgres("after the killed load")

	again, err := c.ExecuteWorkflow(ctx, workflowsStart("warehouse-load/e2e-again-"+t.Name()), workflows.WarehouseLoadName, workflows.WarehouseLoadInput{})
	if err != nil {
		t.Fatal(err)
	}
	var res2 workflows.WarehouseLoadResult
	if err := again.Get(wctx, &res2); err != nil {
		t.Fatal(err)
	}
	for _, tl := range res2.Tables {
		if tl.Rows != 0 {
			t.Errorf("the second load staged %d %s rows, want none", tl.Rows, tl.Table)
		}
	}
	sameAsPostgres("after a second load")
	for _, tl := range res.Tables {
		t.Logf("%s: %d rows loaded, BigQuery %d, PostgreSQL %d", tl.Table, tl.Rows, tl.Check.BigQuery, tl.Check.Postgres)
	}

	recordHistory(t, run.GetID(), run.GetRunID(), "warehouse_load_killed_every_step_beats.json")
}
