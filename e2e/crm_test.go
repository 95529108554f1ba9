package e2e_test

import (
	"context"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/workflows"
)

func TestCRMBackfillResumesAfterWorkerIsKilled(t *testing.T) {
	e := newEnv(t)
	const n = 10000
	sim := crmsim.New("e2e-token", "e2e-secret", n, 7)
	sim.Slow(10 * time.Millisecond) // a CRM is not instant; it also leaves time to kill the worker
	srv := httptest.NewServer(sim)
	defer srv.Close()
	e.vars = append(e.vars, "KITH_HUBSPOT_URL="+srv.URL, "KITH_HUBSPOT_TOKEN=e2e-token")

	c := temporalClient(t)
	ctx := context.Background()
	first := e.startWorker()
	in := workflows.CRMBackfillInput{Provider: "hubspot", PageSize: 100, PagesPerActivity: 10, PagesPerRun: 30}
	run, err := c.ExecuteWorkflow(ctx, workflowsStart("crm-backfill/e2e-"+t.Name()), workflows.CRMBackfillName, in)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backfill to store some pages", 2*time.Minute, func() bool {
		return e.count("SELECT count(*) FROM contacts") >= 2000
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := e.count("SELECT count(*) FROM contacts")
	if killedAt >= n {
		t.Fatalf("the backfill finished (%d contacts) before the worker was killed", killedAt)
	}
	e.startWorker()

	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var res workflows.CRMBackfillResult
	if err := c.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &res); err != nil { // follows continue-as-new
		t.Fatal(err)
	}
	if got := e.count("SELECT count(*) FROM contacts"); got != n {
		t.Errorf("contacts = %d, want exactly %d", got, n)
	}
	if got := e.count("SELECT count(DISTINCT value) FROM identities WHERE kind = 'crm'"); got != n {
		t.Errorf("CRM identities = %d, want %d", got, n)
	}
	if got := e.count("SELECT count(DISTINCT email) FROM contacts"); got != n {
		t.Errorf("distinct emails = %d, want %d", got, n)
	}
	// The summary counts what was committed, the pages the killed worker stored too.
	if res.Contacts != n || res.Pages < n/100 || res.Pages > n/100+1 || res.Cursor.Since.IsZero() {
		t.Errorf("result %+v, want %d contacts in %d pages", res, n, n/100)
	}
	// A second backfill pulls only what changed since: the newest contact again.
	sim.AddContact(map[string]string{"email": "late.arrival@example.com", "firstname": "Late"}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	again, err := c.ExecuteWorkflow(ctx, workflowsStart("crm-backfill/e2e-again-"+t.Name()), workflows.CRMBackfillName, in)
	if err != nil {
		t.Fatal(err)
	}
	var res2 workflows.CRMBackfillResult
	if err := again.Get(ctx, &res2); err != nil {
		t.Fatal(err)
	}
	if got := e.count("SELECT count(*) FROM contacts"); got != n+1 || res2.Pages != 1 || res2.Contacts > 2 {
		t.Errorf("incremental pull: %d contacts stored, result %+v; want %d, one page of at most 2", got, res2, n+1)
	}
	recordHistory(t, again.GetID(), again.GetRunID(), "crm_backfill_incremental.json")
	t.Logf("killed at %d of %d contacts; %d pages in all", killedAt, n, res.Pages)
}

func workflowsStart(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}
}
