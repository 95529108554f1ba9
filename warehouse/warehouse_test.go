package warehouse_test

import (
	"context"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/warehouse"
)

var stack *devstack.Stack

func TestMain(m *testing.M) {
	os.Exit(devstack.TestMain(m, devstack.Options{BigQuery: true, Postgres: true}, &stack))
}

func open(t testing.TB, dataset string) *warehouse.Warehouse {
	t.Helper()
	s := devstack.Require(t, stack)
	w, err := warehouse.Open(context.Background(), s.BigQuery.Project, dataset, s.BigQuery.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestTablesAreDefined(t *testing.T) {
	defs, err := warehouse.Tables()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dim_contact": "contact_id", "fact_delivery": "delivery_id", "fact_event": "event_id", "fact_order": "order_id", "fact_ticket": "ticket_id"}
	if len(defs) != len(want) {
		t.Fatalf("%d tables, want %d", len(defs), len(want))
	}
	for _, d := range defs {
		if want[d.Name] != d.Key {
			t.Errorf("%s key = %q, want %q", d.Name, d.Key, want[d.Name])
		}
		if d.PartitionField == "" || len(d.Clustering) == 0 || d.Clustering[0] != "contact_id" {
			t.Errorf("%s: partition %q clustering %v", d.Name, d.PartitionField, d.Clustering)
		}
	}
}

// TestEmulatorSmoke creates the dataset and tables, inserts rows and queries them
// back through the same client code that talks to real BigQuery.
func TestEmulatorSmoke(t *testing.T) {
	w := open(t, "smoke")
	ctx := context.Background()
	if err := w.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.EnsureSchema(ctx); err != nil { // idempotent
		t.Fatalf("second EnsureSchema: %v", err)
	}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	q := w.Client().Query(`INSERT INTO ` + w.Table("fact_event") + ` (event_id, contact_id, type, source, occurred_at, received_at)
		VALUES ('e1', 'c1', 'page_view', 'tracker', @at, @at), ('e2', 'c1', 'click', 'tracker', @at, @at), ('e3', 'c2', 'page_view', 'tracker', @at, @at)`)
	q.Parameters = []bigquery.QueryParameter{{Name: "at", Value: at}}
	job, err := q.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := job.Wait(ctx); err != nil || st.Err() != nil {
		t.Fatalf("insert: %v %v", err, st.Err())
	}
	it, err := w.Client().Query(`SELECT contact_id, COUNT(*) AS n FROM ` + w.Table("fact_event") + ` GROUP BY contact_id ORDER BY contact_id`).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for {
		var row struct {
			ContactID string `bigquery:"contact_id"`
			N         int64  `bigquery:"n"`
		}
		err := it.Next(&row)
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[row.ContactID] = row.N
	}
	if got["c1"] != 2 || got["c2"] != 1 || len(got) != 2 {
		t.Errorf("events per contact = %v, want c1:2 c2:1", got)
	}
	md, err := w.Client().Dataset("smoke").Table("fact_event").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Schema) != 15 { // schemas/bigquery/fact_event.json: 7, and 8 since the events API (0010)
		t.Errorf("fact_event has %d columns, want 15", len(md.Schema))
	}
}
