package warehouse_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

// analyticsFixture: five contacts with known consent, completeness and status,
// their events and orders, relative to now.
//
//	a  DE 90 active  consented  ordered 5 days ago, emailed after (followed up)
//	b  DE 60 active  consented  ordered 3 days ago, emailed only before
//	c  FR 30 active  no consent ordered 1 day ago; one event 40 days ago
//	d  FR 85 archived consented ordered 2 days ago
//	e  DE 95 active  consented  no email
//
// Triggered messages: a got browse abandonment 4 days ago (opened and clicked
// by her) and the welcome 10 days ago (an order followed within a week); b
// got browse abandonment 4 days ago (only a privacy proxy opened it; he
// ordered the day after); c's was suppressed (no consent).
const analyticsFixture = `
INSERT INTO contacts (id, email, country, completeness, status) VALUES
  (md5('a')::uuid, 'a@shop.de', 'DE', 90, 'active'),
  (md5('b')::uuid, 'b@shop.de', 'DE', 60, 'active'),
  (md5('c')::uuid, 'c@boutique.fr', 'FR', 30, 'active'),
  (md5('d')::uuid, 'd@boutique.fr', 'FR', 85, 'archived'),
  (md5('e')::uuid, NULL, 'DE', 95, 'active');
INSERT INTO consents (contact_id, purpose, status, text_version, source, source_ref, recorded_at)
SELECT md5(x)::uuid, 'email_marketing', 'granted', '2026-11-01', 'form', 'fixture-' || x, now() - interval '60 days'
FROM unnest(ARRAY['a', 'b', 'd', 'e']) x;
INSERT INTO events (event_id, contact_id, type, source, occurred_at) VALUES
  ('a1', md5('a')::uuid, 'page_view', 'tracker', now() - interval '10 days'),
  ('a2', md5('a')::uuid, 'email_open', 'esp', now() - interval '2 days'),
  ('a3', md5('a')::uuid, 'email_click', 'esp', now() - interval '1 day'),
  ('b1', md5('b')::uuid, 'email_open', 'esp', now() - interval '4 days'),
  ('b2', md5('b')::uuid, 'page_view', 'tracker', now() - interval '1 day'),
  ('c1', md5('c')::uuid, 'page_view', 'tracker', now() - interval '40 days');
INSERT INTO events (event_id, contact_id, type, source, occurred_at, call, context, properties, machine) VALUES
  ('a4', md5('a')::uuid, 'Engaged Time', 'tracker', now() - interval '3 days', 'track', '{"page": {"path": "/pricing"}}', '{"seconds": 40}', false),
  ('a5', md5('a')::uuid, 'Scroll Depth', 'tracker', now() - interval '3 days', 'track', '{"page": {"path": "/pricing"}}', '{"percent": 75}', false),
  ('b3', md5('b')::uuid, 'Engaged Time', 'tracker', now() - interval '2 days', 'track', '{"page": {"path": "/pricing"}}', '{"seconds": 20}', false),
  ('b4', md5('b')::uuid, 'Scroll Depth', 'tracker', now() - interval '2 days', 'track', '{"page": {"path": "/pricing"}}', '{"percent": 25}', false),
  ('b5', md5('b')::uuid, 'Engaged Time', 'tracker', now() - interval '2 days', 'track', '{"page": {"path": "/blog"}}', '{"seconds": 5}', false),
  ('b6', md5('b')::uuid, 'Email Link Clicked', 'tracker', now() - interval '2 days', 'track', '{"page": {"path": "/blog"}}', '{}', true),
  ('x1', NULL, 'Engaged Time', 'tracker', now() - interval '2 days', 'track', '{"page": {"path": "/pricing"}}', '{"seconds": 999}', false);
INSERT INTO orders (id, contact_id, provider, external_id, amount_cents, currency, status, ordered_at) VALUES
  (md5('oa')::uuid, md5('a')::uuid, 'hubspot', 'oa', 5000, 'EUR', 'closedwon', now() - interval '5 days'),
  (md5('ob')::uuid, md5('b')::uuid, 'hubspot', 'ob', 12550, 'EUR', 'closedwon', now() - interval '3 days'),
  (md5('oc')::uuid, md5('c')::uuid, 'hubspot', 'oc', 900, 'EUR', 'closedwon', now() - interval '1 day'),
  (md5('od')::uuid, md5('d')::uuid, 'hubspot', 'od', 700, 'EUR', 'closedwon', now() - interval '2 days');
INSERT INTO deliveries (id, contact_id, rule, template, purpose, occurrence, status, reason, due_at, sent_at) VALUES
  ('d1', md5('a')::uuid, 'browse_abandonment', 'browse-abandonment', 'email_marketing', 'v1', 'accepted', NULL, now() - interval '4 days', now() - interval '4 days'),
  ('d2', md5('a')::uuid, 'welcome', 'welcome', 'email_marketing', 'c1', 'accepted', NULL, now() - interval '10 days', now() - interval '10 days'),
  ('d3', md5('b')::uuid, 'browse_abandonment', 'browse-abandonment', 'email_marketing', 'v2', 'accepted', NULL, now() - interval '4 days', now() - interval '4 days'),
  ('d4', md5('c')::uuid, 'browse_abandonment', 'browse-abandonment', 'email_marketing', 'v3', 'suppressed', 'consent email_marketing not given', now() - interval '2 days', NULL);
INSERT INTO events (event_id, contact_id, type, source, occurred_at, call, properties, machine) VALUES
  ('s1', md5('a')::uuid, 'Email Opened', 'esp', now() - interval '3 days', 'track', '{"delivery_id": "d1"}', false),
  ('s2', md5('a')::uuid, 'Email Link Clicked', 'esp', now() - interval '3 days', 'track', '{"delivery_id": "d1"}', false),
  ('s3', md5('b')::uuid, 'Email Opened', 'esp', now() - interval '3 days 12 hours', 'track', '{"delivery_id": "d3"}', true);
`

// TestExampleQueriesAnswer runs every example query of docs/analytics.md on a
// loaded fixture and checks its answer.
func TestExampleQueriesAnswer(t *testing.T) {
	e := newLoadEnv(t, "analytics")
	e.exec(analyticsFixture)
	e.load(workflows.WarehouseLoadInput{})
	var b string
	if err := e.store.DB().Get(&b, "SELECT md5('b')::uuid::text"); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"audience_by_segment":          {"DE|high (80-100)|1", "DE|medium (50-79)|1"},
		"engagement_by_completeness":   {"high (80-100)|2|7|3.5", "low (0-49)|1|0|0", "medium (50-79)|1|5|5"},
		"engagement_by_landing_page":   {"/pricing|2|60|50", "/blog|1|5|0"},
		"purchasers_without_follow_up": {b + "|125.5"},
		"triggers_by_rule":             {"browse_abandonment|2|1|1|1", "welcome|1|0|0|1"},
	}
	qs, err := warehouse.Queries()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != len(want) {
		t.Fatalf("%d example queries, want %d", len(qs), len(want))
	}
	for _, q := range qs {
		got := rows(t, e.wh, q)
		if strings.Join(got, "\n") != strings.Join(want[q.Name], "\n") {
			t.Errorf("%s answered\n%s\nwant\n%s", q.Name, strings.Join(got, "\n"), strings.Join(want[q.Name], "\n"))
		}
	}
}

// rows runs q and renders each row as its values joined by |, leaving out
// timestamps (they depend on when the test ran).
func rows(t *testing.T, w *warehouse.Warehouse, q warehouse.Query) []string {
	t.Helper()
	it, err := w.Client().Query(w.SQL(q)).Read(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", q.Name, err)
	}
	var out []string
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if err == iterator.Done {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		var parts []string
		for i, v := range row {
			if it.Schema[i].Type == bigquery.TimestampFieldType {
				continue
			}
			parts = append(parts, render(v))
		}
		out = append(out, strings.Join(parts, "|"))
	}
}

func render(v bigquery.Value) string {
	if r, ok := v.(interface{ FloatString(int) string }); ok { // NUMERIC: *big.Rat
		return strings.TrimRight(strings.TrimRight(r.FloatString(9), "0"), ".")
	}
	return fmt.Sprint(v)
}

// TestAnalyticsDocShowsTheQueries: docs/analytics.md shows each example query as
// it is in schemas/bigquery/queries, so what analysts copy is what the test ran.
func TestAnalyticsDocShowsTheQueries(t *testing.T) {
	doc, err := os.ReadFile("../docs/analytics.md")
	if err != nil {
		t.Fatal(err)
	}
	qs, err := warehouse.Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if !strings.Contains(string(doc), strings.TrimSpace(q.SQL)) {
			t.Errorf("docs/analytics.md does not show schemas/bigquery/queries/%s.sql as it is", q.Name)
		}
	}
}
