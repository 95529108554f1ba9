package warehouse_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/api/googleapi"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

// loadEnv is one test's PostgreSQL database and BigQuery dataset (both named after
// the test), with the warehouse activities over them.
type loadEnv struct {
	t       testing.TB
	store   *postgres.Store
	wh      *warehouse.Warehouse
	acts    *activities.Warehouse
	dataset string
}

func newLoadEnv(t testing.TB, name string) *loadEnv {
	t.Helper()
	s := devstack.Require(t, stack)
	ctx := context.Background()
	store, err := postgres.CreateMigrated(ctx, s.Postgres.URL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	wh := open(t, name)
	return &loadEnv{t: t, store: store, wh: wh, dataset: name,
		acts: &activities.Warehouse{Source: store, Target: wh}}
}

// seed writes testdata/seed.sql's synthetic rows.
func (e *loadEnv) seed(contacts, events, orders, tickets int) {
	e.t.Helper()
	b, err := os.ReadFile("testdata/seed.sql")
	if err != nil {
		e.t.Fatal(err)
	}
	q := strings.NewReplacer(":contacts", fmt.Sprint(contacts), ":events", fmt.Sprint(events),
		":orders", fmt.Sprint(orders), ":tickets", fmt.Sprint(tickets)).Replace(string(b))
	e.exec(q)
}

func (e *loadEnv) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.store.DB().Exec(q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

// load runs the WarehouseLoad workflow with the real activities.
func (e *loadEnv) load(in workflows.WarehouseLoadInput) workflows.WarehouseLoadResult {
	e.t.Helper()
	return e.loadAs("warehouse-load", in)
}

// loadAs runs the WarehouseLoad workflow with the real activities, as the
// workflow id given.
func (e *loadEnv) loadAs(id string, in workflows.WarehouseLoadInput) workflows.WarehouseLoadResult {
	e.t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	env.SetTestTimeout(10 * time.Minute) // real activities on a busy machine, not the 3 s default
	workflows.Register(env, workflows.Activities{Warehouse: e.acts})
	env.ExecuteWorkflow(workflows.WarehouseLoadName, in)
	if err := env.GetWorkflowError(); err != nil {
		e.t.Fatalf("WarehouseLoad: %v", err)
	}
	var res workflows.WarehouseLoadResult
	if err := env.GetWorkflowResult(&res); err != nil {
		e.t.Fatal(err)
	}
	return res
}

// bq answers a query of one integer from BigQuery; each %s in q is replaced by
// the fully qualified name of the table named in tables.
func (e *loadEnv) bq(q string, tables ...string) int64 {
	e.t.Helper()
	names := make([]any, len(tables))
	for i, t := range tables {
		names[i] = e.wh.Table(t)
	}
	q = fmt.Sprintf(q, names...)
	it, err := e.wh.Client().Query(q).Read(context.Background())
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	n, ok := row[0].(int64)
	if !ok {
		e.t.Fatalf("%s: answered %#v, not an integer", q, row[0])
	}
	return n
}

func (e *loadEnv) pg(q string) int64 {
	e.t.Helper()
	var n int64
	if err := e.store.DB().Get(&n, q); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

var starTables = []string{"dim_contact", "fact_delivery", "fact_event", "fact_order", "fact_ticket"}

// sameCounts checks the tables (default: all) hold exactly PostgreSQL's rows,
// each key once.
func (e *loadEnv) sameCounts(tables ...string) {
	e.t.Helper()
	if len(tables) == 0 {
		tables = starTables
	}
	for _, table := range tables {
		want := e.pg("SELECT count(*) FROM warehouse." + table)
		key := map[string]string{"dim_contact": "contact_id", "fact_delivery": "delivery_id", "fact_event": "event_id", "fact_order": "order_id", "fact_ticket": "ticket_id"}[table]
		rows := e.bq("SELECT count(*) FROM %s", table)
		keys := e.bq("SELECT count(DISTINCT "+key+") FROM %s", table)
		if rows != want || keys != want {
			e.t.Errorf("%s: BigQuery has %d rows, %d keys; PostgreSQL %d rows", table, rows, keys, want)
		}
	}
}

func TestWarehouseLoadTwiceLoadsNothingTwice(t *testing.T) {
	e := newLoadEnv(t, "load_twice")
	e.seed(300, 1000, 120, 40)
	first := e.load(workflows.WarehouseLoadInput{})
	if len(first.Tables) != len(starTables) {
		t.Fatalf("loaded %d tables, want %d: %+v", len(first.Tables), len(starTables), first)
	}
	want := map[string]int64{"dim_contact": 300, "fact_delivery": 0, "fact_event": 1000, "fact_order": 120, "fact_ticket": 40}
	for _, tl := range first.Tables {
		if tl.Rows != want[tl.Table] || tl.Check.BigQuery != want[tl.Table] || tl.Check.Postgres != want[tl.Table] {
			t.Errorf("first load of %s: %+v, want %d rows", tl.Table, tl, want[tl.Table])
		}
	}
	e.sameCounts()

	// Values arrive typed and without PII: contact 1 (odd: consented) was born on
	// 1950-01-02 with an email at example1.com; order 1 is 20.00 EUR.
	var id string
	if err := e.store.DB().Get(&id, "SELECT md5('contact1')::uuid::text"); err != nil {
		t.Fatal(err)
	}
	if n := e.bq("SELECT count(*) FROM %s WHERE contact_id = '"+id+"' AND email_domain = 'example1.com' AND birth_year = 1950 AND email_marketing_consent AND country = 'FR'", "dim_contact"); n != 1 {
		t.Errorf("contact 1 not loaded as expected (%d matching rows)", n)
	}
	if n := e.bq("SELECT count(*) FROM %s WHERE amount = 20 AND currency = 'EUR' AND ordered_at = TIMESTAMP '2026-10-01 01:00:00+00'", "fact_order"); n != 1 {
		t.Errorf("order 1 not loaded as expected (%d matching rows)", n)
	}
	if n := e.bq("SELECT count(*) FROM %s WHERE JSON_VALUE(properties, '$.n') = '7' AND type = 'form_submit'", "fact_event"); n != 1 {
		t.Errorf("event 7 not loaded as expected (%d matching rows)", n)
	}

	// Nothing written since: the second load stages nothing and changes nothing.
	second := e.load(workflows.WarehouseLoadInput{})
	for _, tl := range second.Tables {
		if tl.Rows != 0 || tl.Check.BigQuery != want[tl.Table] {
			t.Errorf("second load of %s: %+v, want nothing staged", tl.Table, tl)
		}
	}
	e.sameCounts()

	// A changed city, a withdrawn consent and new events reach BigQuery, once.
	e.exec("UPDATE contacts SET city = 'Tromsø' WHERE id = $1", id)
	e.exec(`INSERT INTO consents (contact_id, purpose, status, text_version, source, source_ref, recorded_at)
		VALUES ($1, 'email_marketing', 'withdrawn', '2026-11-01', 'form', 'withdraw-1', now() + interval '1 second')`, id)
	e.seed(300, 1005, 120, 40)
	third := e.load(workflows.WarehouseLoadInput{})
	e.sameCounts()
	if n := e.bq("SELECT count(*) FROM %s WHERE contact_id = '"+id+"' AND city = 'Tromsø' AND NOT email_marketing_consent", "dim_contact"); n != 1 {
		t.Errorf("contact 1's change not loaded (%d matching rows); load %+v", n, third)
	}
	if n := e.bq("SELECT count(*) FROM %s", "fact_event"); n != 1005 {
		t.Errorf("fact_event has %d rows after 5 new events, want 1005", n)
	}
}

// TestWarehouseLoadAddsNewColumn: a column added to a warehouse view in
// PostgreSQL appears, with its values, in BigQuery after the next load.
func TestWarehouseLoadAddsNewColumn(t *testing.T) {
	e := newLoadEnv(t, "load_new_column")
	e.seed(50, 0, 0, 0)
	e.load(workflows.WarehouseLoadInput{Tables: []string{"dim_contact"}})

	e.exec("ALTER TABLE contacts ADD COLUMN loyalty_tier text")
	e.exec("UPDATE contacts SET loyalty_tier = CASE WHEN completeness > 25 THEN 'gold' ELSE 'silver' END")
	var def string
	if err := e.store.DB().Get(&def, "SELECT pg_get_viewdef('warehouse.dim_contact'::regclass)"); err != nil {
		t.Fatal(err)
	}
	at := strings.LastIndex(def, "FROM contacts c")
	if at < 0 {
		t.Fatalf("unexpected view definition:\n%s", def)
	}
	e.exec("CREATE OR REPLACE VIEW warehouse.dim_contact AS " + def[:at] + ", c.loyalty_tier " + def[at:])

	res := e.load(workflows.WarehouseLoadInput{Tables: []string{"dim_contact"}})
	md, err := e.wh.Client().Dataset(e.dataset).Table("dim_contact").Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last := md.Schema[len(md.Schema)-1]; last.Name != "loyalty_tier" || last.Type != bigquery.StringFieldType {
		t.Fatalf("BigQuery dim_contact's last column is %s %s, want loyalty_tier STRING", last.Name, last.Type)
	}
	gold := e.pg("SELECT count(*) FROM contacts WHERE loyalty_tier = 'gold'")
	if n := e.bq("SELECT count(*) FROM %s WHERE loyalty_tier = 'gold'", "dim_contact"); n != gold || gold == 0 {
		t.Errorf("%d gold contacts in BigQuery, %d in PostgreSQL", n, gold)
	}
	e.sameCounts("dim_contact")
	t.Logf("load after the new column: %+v (rebuilt: the table had to be recreated to grow)", res.Tables[0])
}

// TestStageLoadsOnce: staging the same window again reuses the load job (no
// second job, same rows); a failed job's id is not reused, the next attempt takes
// the next id.
func TestStageLoadsOnce(t *testing.T) {
	e := newLoadEnv(t, "stage_once")
	e.seed(20, 0, 0, 30)
	ctx := context.Background()
	p, err := e.acts.PlanLoad(ctx, activities.LoadPlanInput{Table: "fact_ticket"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.acts.StageLoad(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	e.exec("UPDATE tickets SET status = 'closed'") // later writes are the next window's
	again, err := e.acts.StageLoad(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if first != again || first.Rows != 30 {
		t.Errorf("staged %+v, then %+v; want the same 30 rows", first, again)
	}
	base := "kith_load_" + e.dataset + "_" + p.JobKey()
	if _, err := e.wh.Client().JobFromID(ctx, base); err != nil {
		t.Errorf("job %s: %v", base, err)
	}
	if _, err := e.wh.Client().JobFromID(ctx, base+"_r1"); !isNotFound(err) {
		t.Errorf("a second load job %s_r1 exists (%v)", base, err)
	}

	cols, err := e.store.SourceColumns(ctx, "fact_ticket")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.wh.Stage(ctx, "fact_ticket", "broken", cols, strings.NewReader("{\"ticket_id\": \n"), 1); err == nil {
		t.Fatal("staging malformed JSON succeeded")
	}
	good := `{"ticket_id": "t1", "provider": "hubspot", "updated_at": "2026-11-01T00:00:00+00:00"}` + "\n"
	staging, rows, err := e.wh.Stage(ctx, "fact_ticket", "broken", cols, strings.NewReader(good), 1)
	if err != nil || rows != 1 {
		t.Fatalf("staging again after a failed job: %d rows, %v", rows, err)
	}
	if _, err := e.wh.Client().JobFromID(ctx, "kith_load_"+e.dataset+"_broken_r1"); err != nil {
		t.Errorf("the retry did not take the next job id: %v", err)
	}
	if err := e.wh.DropStaging(ctx, staging); err != nil {
		t.Fatal(err)
	}
	if err := e.wh.DropStaging(ctx, staging); err != nil {
		t.Errorf("dropping a dropped staging table: %v", err)
	}
}

// TestLoadsAtOnceStageApart: two runs that load the same window at once (the
// hourly schedule and a load started from the Temporal UI) stage into tables of
// their own, so the first one's DropStaging leaves the second's upsert whole.
// PlanLoad stamps its plan with the run it works for.
func TestLoadsAtOnceStageApart(t *testing.T) {
	e := newLoadEnv(t, "stage_apart")
	e.seed(20, 0, 0, 30)
	ctx := context.Background()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(e.acts)
	v, err := env.ExecuteActivity(e.acts.PlanLoad, activities.LoadPlanInput{Table: "fact_ticket"})
	if err != nil {
		t.Fatal(err)
	}
	var p activities.LoadPlan
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if len(p.Run) != 16 || !strings.HasSuffix(p.JobKey(), "_"+p.Run) {
		t.Fatalf("PlanLoad in a workflow run planned run %q, job key %q; want the run's 16-digit name at the key's end", p.Run, p.JobKey())
	}
	hourly, manual := p, p
	manual.Run = "0123456789abcdef"
	first, err := e.acts.StageLoad(ctx, hourly)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.acts.StageLoad(ctx, manual)
	if err != nil {
		t.Fatal(err)
	}
	if first.Staging == second.Staging || first.Rows != 30 || second.Rows != 30 {
		t.Fatalf("two runs staged %+v and %+v; want 30 rows each in tables of their own", first, second)
	}
	for _, s := range []struct {
		plan   activities.LoadPlan
		staged activities.Staged
	}{{hourly, first}, {manual, second}} {
		if err := e.acts.UpsertLoad(ctx, activities.UpsertLoadInput{Plan: s.plan, Staging: s.staged.Staging}); err != nil {
			t.Fatalf("upsert of run %s after the other run's staging was dropped: %v", s.plan.Run, err)
		}
		if err := e.acts.DropStaging(ctx, s.staged.Staging); err != nil {
			t.Fatal(err)
		}
	}
	e.sameCounts("fact_ticket")

	// The same through the workflow: two loads at once both end, and BigQuery
	// matches PostgreSQL.
	e.seed(40, 200, 20, 30)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.loadAs("warehouse-load-hourly", workflows.WarehouseLoadInput{})
	}()
	e.loadAs("warehouse-load/manual", workflows.WarehouseLoadInput{})
	<-done
	e.sameCounts(starTables...)
}

// TestVerifyLoadCatchesDuplicates: a key loaded twice fails the check with an
// error ops see (not retried).
func TestVerifyLoadCatchesDuplicates(t *testing.T) {
	e := newLoadEnv(t, "verify_duplicates")
	e.seed(5, 0, 0, 3)
	e.load(workflows.WarehouseLoadInput{Tables: []string{"fact_ticket"}})
	e.bq("SELECT count(*) FROM %s", "fact_ticket")
	job, err := e.wh.Client().Query(fmt.Sprintf("INSERT INTO %[1]s (ticket_id, provider, updated_at) SELECT ticket_id, provider, updated_at FROM %[1]s LIMIT 1", e.wh.Table("fact_ticket"))).Run(context.Background())
	if err == nil {
		_, err = job.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.acts.VerifyLoad(context.Background(), activities.VerifyLoadInput{Table: "fact_ticket"})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != activities.ErrWarehouseMismatch || !ae.NonRetryable() || !strings.Contains(ae.Error(), "duplicates") {
		t.Fatalf("verify with a duplicate: %v", err)
	}
}

func isNotFound(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
}

// TestErasureDeletesFromTheStarSchema: a contact erased in PostgreSQL stays
// in BigQuery until the erasure's warehouse step, and a load in between
// passes its check (the rows are expected there, not extra); the step deletes
// its rows from every table and detaches its orders.
func TestErasureDeletesFromTheStarSchema(t *testing.T) {
	e := newLoadEnv(t, "erasure")
	e.seed(20, 200, 40, 20)
	e.load(workflows.WarehouseLoadInput{})
	ctx := context.Background()
	var id string
	if err := e.store.DB().Get(&id, `SELECT c.id::text FROM contacts c WHERE EXISTS (SELECT 1 FROM events WHERE contact_id = c.id)
		AND EXISTS (SELECT 1 FROM orders WHERE contact_id = c.id) ORDER BY c.id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	e.store.UseIdentityHasher(kith.IdentityHasher{Keys: [][]byte{[]byte("a test key of at least thirty-two bytes")}})
	if _, err := e.store.BeginErasure(ctx, id, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ErasePostgres(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := e.bq("SELECT count(*) FROM %s WHERE contact_id = '"+id+"'", "fact_event"); n == 0 {
		t.Fatal("the contact's events are not in BigQuery before the warehouse step: the test would prove nothing")
	}
	e.load(workflows.WarehouseLoadInput{}) // its check must accept the rows erased in PostgreSQL only

	p := &activities.Privacy{Store: e.store, Warehouse: e.wh}
	step, err := p.EraseWarehouse(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// (The load in between already carried the orders' detachment from PostgreSQL.)
	if step.Removed["fact_event"] == 0 || step.Removed["dim_contact"] != 1 {
		t.Errorf("step %+v: want the contact's row and its events", step)
	}
	for _, table := range []string{"dim_contact", "fact_event", "fact_order", "fact_ticket", "fact_delivery"} {
		if n := e.bq("SELECT count(*) FROM %s WHERE contact_id = '"+id+"'", table); n != 0 {
			t.Errorf("%s: %d rows still name the erased contact", table, n)
		}
	}
	e.load(workflows.WarehouseLoadInput{})
	e.sameCounts()
	if again, err := p.EraseWarehouse(ctx, id); err != nil || len(again.Removed) != 0 {
		t.Errorf("the step again: %+v, %v; want nothing left to do", again, err)
	}

	// Orders erased before a load carried it are detached in BigQuery itself.
	var other string
	if err := e.store.DB().Get(&other, `SELECT contact_id::text FROM orders WHERE contact_id IS NOT NULL ORDER BY contact_id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if n, err := e.wh.DetachOrders(ctx, []string{other}); err != nil || n == 0 {
		t.Errorf("DetachOrders: %d, %v; want the contact's orders", n, err)
	}
	if n := e.bq("SELECT count(*) FROM %s WHERE contact_id = '"+other+"'", "fact_order"); n != 0 {
		t.Errorf("fact_order: %d rows still name the contact after DetachOrders", n)
	}
}

// TestEventRetentionInBothStores: fact_event's partitions expire at the event
// retention age, and a check run
// while PostgreSQL has deleted old events that BigQuery still holds passes,
// because both sides leave out rows near the age.
func TestEventRetentionInBothStores(t *testing.T) {
	e := newLoadEnv(t, "retention")
	ctx := context.Background()
	const month = 30 * 24 * time.Hour
	e.wh.UseEventRetention(month)
	e.acts.EventRetention = month
	e.exec(`INSERT INTO events (event_id, type, source, occurred_at) SELECT 'old-' || i, 'Page Viewed', 'tracker', now() - interval '40 days' FROM generate_series(1, 3) i`)
	e.exec(`INSERT INTO events (event_id, type, source, occurred_at) SELECT 'new-' || i, 'Page Viewed', 'tracker', now() - interval '1 day' FROM generate_series(1, 2) i`)
	e.load(workflows.WarehouseLoadInput{Tables: []string{"fact_event"}})
	md, err := e.wh.Client().Dataset(e.dataset).Table("fact_event").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.TimePartitioning == nil || md.TimePartitioning.Expiration != month {
		t.Errorf("fact_event partitioning %+v, want day partitions expiring after 30 days", md.TimePartitioning)
	}

	// The Retention workflow's deletion, before BigQuery drops the partitions.
	if n, err := e.store.DeleteEventsBefore(ctx, time.Now().Add(-month), 100); err != nil || n != 3 {
		t.Fatalf("deleted %d old events (%v)", n, err)
	}
	if c, err := e.acts.VerifyLoad(ctx, activities.VerifyLoadInput{Table: "fact_event", UpTo: time.Now()}); err != nil || c.Postgres != 2 || c.BigQuery != 2 {
		t.Errorf("the check with retention: %+v, %v; want 2 = 2", c, err)
	}
	noRetention := &activities.Warehouse{Source: e.store, Target: e.wh}
	if _, err := noRetention.VerifyLoad(ctx, activities.VerifyLoadInput{Table: "fact_event", UpTo: time.Now()}); err == nil || !strings.Contains(err.Error(), "more than PostgreSQL") {
		t.Errorf("the same check counting every row: %v, want BigQuery's 5 rows to exceed PostgreSQL's 2", err)
	}

	// A change of age is applied by the next load's PrepareTable (a tables.patch
	// of timePartitioning); the emulator answers it but does not keep it (see
	// TestEmulatorBehaviour), so only creation is checked here.
}
