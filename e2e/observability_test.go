package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.temporal.io/sdk/client"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/esp/espsim"
	"github.com/kithhq/kith/telemetry"
	"github.com/kithhq/kith/workflows"
)

const (
	obsBackendKey = "obs-backend-write-key-01"
	obsWebKey     = "obs-web-write-key-000001"
	obsAdminKey   = "obs-admin-key-0000000001"
)

// TestMetricsAndReportMatchTheDatabase runs the demo's paths against `starter
// serve` and a worker, each serving /metrics: a generated list and the sample
// file imported, events accepted, repeated and refused, a hard bounce from the
// ESP, a Cleaning and a warehouse load. Then every Kith metric the two
// processes export equals what the database (or BigQuery) holds, both
// scrapes pass `promtool check metrics`, and headless Chromium renders
// /reports/quality with no console error and every number on it equal to a
// direct SQL count.
func TestMetricsAndReportMatchTheDatabase(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	workerMetrics, apiMetrics, addr := freeAddr(t), freeAddr(t), freeAddr(t)
	espSim := espsim.New("obs-esp-key")
	e.vars = append(e.vars, "KITH_METRICS_ADDR="+workerMetrics)
	e.startWorker()
	e.vars = append(e.vars, "KITH_METRICS_ADDR="+apiMetrics, "KITH_WRITE_KEYS=web:"+obsWebKey+",backend:"+obsBackendKey,
		"KITH_TRUSTED_SOURCES=backend", "KITH_ADMIN_KEYS=ops:"+obsAdminKey, "KITH_SENDGRID_WEBHOOK_KEY="+espSim.PublicKey(),
		"KITH_LINK_KEY=dGhpcyBpcyBhIHRlc3QgbGluayBrZXkgb2YgMzIgYnl0ZXM=")
	e.serve(addr)
	api := "http://" + addr

	// A generated list with the mess real lists have, and the demo's sample.
	labeled := dedup.Generate(1200, dedup.Difficulties["hard"], 11)
	list := filepath.Join(t.TempDir(), "list.csv")
	var b bytes.Buffer
	if err := dedup.WriteCSV(&b, labeled); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(list, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"import", "-region", "NO", "-batch", "500", list}, {"import", "../starter/testdata/contacts.csv"}} {
		if out, err := e.cmd("starter", args...).CombinedOutput(); err != nil {
			t.Fatalf("starter %v: %v\n%s", args, err, out)
		}
	}

	// Events: accepted, the same again (duplicates), a refused batch, a browser's.
	var msgs []map[string]any
	for i := range 300 {
		msgs = append(msgs, map[string]any{"type": "track", "event": "Product Viewed", "userId": dedup.CustomerID(i + 1),
			"messageId": fmt.Sprintf("obs-%d", i), "properties": map[string]any{"category": "books"}})
	}
	batch, _ := json.Marshal(map[string]any{"batch": msgs})
	statuses := map[int]int{}
	post := func(key string, body []byte) {
		req, _ := http.NewRequest("POST", api+"/v1/batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(key, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses[resp.StatusCode]++
	}
	post(obsBackendKey, batch)
	post(obsBackendKey, batch)
	post(obsBackendKey, []byte(`{"batch":[{"type":"track","event":"A","userId":"u1","timestamp":"yesterday"},{"type":"track","event":"B","userId":"u1"}]}`))
	post(obsWebKey, []byte(`{"batch":[{"type":"page","anonymousId":"obs-anon-1","name":"Home"}]}`))
	if statuses[200] != 3 || statuses[400] != 1 {
		t.Fatalf("events API answers: %v, want three 200 and one 400", statuses)
	}
	// The list's customer_id column named its contacts for the events API.
	if n := e.count(`SELECT count(*) FROM events WHERE write_source = 'backend' AND contact_id IS NOT NULL`); n < 290 {
		t.Errorf("%d of 300 events by customer id reached a contact", n)
	}

	// A visitor's form submission with consent (personalization granted, email
	// marketing pending its double opt-in).
	form, _ := json.Marshal(map[string]any{"submission_id": "obs-sub-1", "anonymous_id": "obs-anon-2",
		"fields": map[string]string{"email": "obs.visitor@example.com", "first_name": "Ada", "country": "NO"},
		"consents": map[string]any{"personalization": map[string]any{"granted": true, "text_version": "2026-11-01"},
			"email_marketing": map[string]any{"granted": true, "text_version": "2026-11-01"}}})
	resp, err := http.Post(api+"/v1/forms/profile/submissions", "application/json", bytes.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 201 {
		t.Fatalf("form submission answered %d", resp.StatusCode)
	}
	waitFor(t, "the visitor's consents", 30*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM consents`) >= 2
	})

	// A hard bounce for the list's first address.
	bounce := []esp.Event{{Email: labeled[0].Email, Timestamp: time.Now().Unix(), Event: "bounce", Type: "bounce", Status: "5.1.1",
		Reason: "550 5.1.1 no such user", SGEventID: "obs-bounce-1", SGMessageID: "obs-msg-1.filter0001"}}
	if code, err := espSim.SendEvents(ctx, api+"/v1/webhooks/esp/sendgrid", bounce, time.Now(), false); err != nil || code != 200 {
		t.Fatalf("ESP webhook: %d %v", code, err)
	}

	c := temporalClient(t)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "cleaning/" + t.Name(), TaskQueue: workflows.TaskQueue},
		workflows.CleaningName, workflows.CleaningInput{})
	if err != nil {
		t.Fatal(err)
	}
	var cleaned workflows.CleaningSummary
	if err := run.Get(ctx, &cleaned); err != nil {
		t.Fatal(err)
	}
	if out, err := e.cmd("starter", "load").CombinedOutput(); err != nil {
		t.Fatalf("starter load: %v\n%s", err, out)
	}

	apiText, apiFams := scrape(t, "http://"+apiMetrics+"/metrics")
	workerText, workerFams := scrape(t, "http://"+workerMetrics+"/metrics")
	m := metricsCheck{t: t, fams: apiFams}

	// The API's counts of what it was sent.
	m.equal("kith_events_total", labels{"source": "backend", "outcome": "accepted"}, e.count(`SELECT count(*) FROM events WHERE write_source = 'backend'`))
	m.equal("kith_events_total", labels{"source": "backend", "outcome": "duplicate"}, 300)
	m.equal("kith_events_total", labels{"source": "backend", "outcome": "refused"}, 2)
	m.equal("kith_events_total", labels{"source": "web", "outcome": "accepted"}, e.count(`SELECT count(*) FROM events WHERE write_source = 'web'`))
	m.equal("kith_event_refusals_total", labels{"source": "backend", "reason": "invalid"}, e.count(`SELECT count(*) FROM quarantine WHERE source = 'tracker'`))
	m.equal("kith_http_requests_total", labels{"route": "POST /v1/batch", "method": "POST", "code": "200"}, 3)
	m.equal("kith_http_requests_total", labels{"route": "POST /v1/batch", "method": "POST", "code": "400"}, 1)
	if m.value("kith_http_request_duration_seconds", labels{"route": "POST /v1/batch"}) != 4 {
		t.Errorf("kith_http_request_duration_seconds counts %v batch requests, want 4", m.value("kith_http_request_duration_seconds", labels{"route": "POST /v1/batch"}))
	}

	// The store's figures: each series is one SQL group, and no series is extra.
	m.family("kith_contacts", e.groups(`SELECT status, count(*) FROM contacts GROUP BY 1`, "status"))
	m.family("kith_quarantine_records", e.groups(`SELECT source, 'open', count(*) FILTER (WHERE resolved_at IS NULL) FROM quarantine GROUP BY 1
		UNION ALL SELECT source, 'resolved', count(*) FILTER (WHERE resolved_at IS NOT NULL) FROM quarantine GROUP BY 1`, "source", "state"))
	m.family("kith_quarantine_violations", foldFields(e.groups(`SELECT COALESCE(v->>'field', ''), v->>'code', count(*)
		FROM quarantine q, jsonb_array_elements(q.violations) v WHERE COALESCE(v->>'severity', 'reject') = 'reject' GROUP BY 1, 2`, "field", "code")))
	m.family("kith_quality_repairs_total", foldFields(e.groups(`SELECT field, code, sum(n) FROM quality_findings GROUP BY 1, 2`, "field", "code")))
	m.family("kith_merges", e.groups(`SELECT 'in_force', count(*) FILTER (WHERE undone_at IS NULL) FROM merges
		UNION ALL SELECT 'undone', count(*) FILTER (WHERE undone_at IS NOT NULL) FROM merges`, "state"))
	m.family("kith_merge_reviews", e.groups(`SELECT s, (SELECT count(*) FROM merge_reviews WHERE status = s)
		FROM unnest(ARRAY['pending', 'merge', 'keep_apart']) AS s`, "status"))
	m.family("kith_contact_completeness", e.groups(`SELECT b::text, (SELECT count(*) FROM contacts WHERE status = 'active' AND completeness >= 10 * b
			AND (completeness < 10 * b + 10 OR b = 10)) FROM generate_series(0, 10) AS b
		UNION ALL SELECT 'unscored', count(*) FROM contacts WHERE status = 'active' AND completeness IS NULL`, "band"))
	m.family("kith_imputed_values", e.groups(`SELECT p.key, p.value->>'method', count(*) FROM contacts c, jsonb_each(c.field_provenance) p
		WHERE c.status = 'active' AND (p.value->>'imputed')::boolean GROUP BY 1, 2`, "field", "method"))
	m.family("kith_archived_contacts", e.groups(`SELECT reason, count(*) FROM contacts_archive WHERE restored_at IS NULL GROUP BY 1`, "reason"))
	m.family("kith_consent_contacts", e.consentGroups())
	m.family("kith_deliveries", e.groups(`SELECT rule, status, CASE WHEN status IN ('suppressed', 'capped') THEN COALESCE(reason, '') ELSE '' END, count(*)
		FROM deliveries GROUP BY 1, 2, 3`, "rule", "outcome", "reason"))
	tables := e.groups(`SELECT table_name, 0 FROM information_schema.views WHERE table_schema = 'warehouse'`, "table")
	rows := map[string]int{}
	for _, g := range tables {
		rows[g.labels["table"]] = e.count(`SELECT count(*) FROM warehouse.` + g.labels["table"])
		m.equal("kith_warehouse_source_rows", g.labels, rows[g.labels["table"]])
		if lag := m.value("kith_warehouse_load_lag_seconds", g.labels); lag < 0 || lag > 3600 {
			t.Errorf("kith_warehouse_load_lag_seconds%v = %v after a load just now", g.labels, lag)
		}
	}
	if e.count(`SELECT count(*) FROM contacts_archive WHERE reason = 'hard_bounce'`) != 1 || e.count(`SELECT count(*) FROM merges`) == 0 ||
		e.count(`SELECT count(DISTINCT purpose) FROM consents`) != 2 ||
		e.count(`SELECT COALESCE(sum(n), 0) FROM quality_findings`) == 0 || e.count(`SELECT count(*) FROM dedup_runs`) != 1 {
		t.Errorf("the paths left no hard-bounce archive, merge, consent, repair or de-duplication run to count")
	}

	// The worker's: BigQuery's rows after each checked load, and the SDK's metrics.
	w := metricsCheck{t: t, fams: workerFams}
	bq := bigQueryCounts(t, e.dataset)
	for table, n := range rows {
		if bq[table] != n {
			t.Errorf("BigQuery %s has %d rows, PostgreSQL %d", table, bq[table], n)
		}
		w.equal("kith_warehouse_rows", labels{"table": table}, bq[table])
		if w.value("kith_warehouse_loads_total", labels{"table": table, "outcome": "ok"}) < 1 {
			t.Errorf("no checked load of %s counted", table)
		}
	}
	for _, name := range []string{"temporal_workflow_completed_total", "temporal_activity_execution_latency_seconds", "temporal_request_total"} {
		if workerFams[name] == nil {
			t.Errorf("the worker exports no %s (the Temporal SDK's metrics)", name)
		}
	}
	promtool(t, apiText)
	promtool(t, workerText)

	// The report page, as an ops person's browser shows it.
	got, consoleErrors := renderReport(t, api+"/reports/quality", obsAdminKey)
	if len(consoleErrors) > 0 {
		t.Errorf("the report page logged errors in Chromium: %v", consoleErrors)
	}
	if len(got) < 40 {
		t.Errorf("the report page shows %d numbers, want every figure", len(got))
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	}) {
		if k == "html" {
			continue
		}
		want, ok := e.reportFigure(k, bq)
		if !ok {
			t.Errorf("the report shows %s = %s, which the test cannot check", k, got[k])
			continue
		}
		if got[k] != strconv.Itoa(want) {
			t.Errorf("the report shows %s = %s, SQL counts %d", k, got[k], want)
		}
	}
	for _, section := range []string{"violations", "repairs", "quarantine", "duplicates", "completeness", "imputed", "archived", "consent", "warehouse"} {
		if !strings.Contains(got["html"], `id="`+section+`"`) {
			t.Errorf("the report has no %s section", section)
		}
	}
	if dir := os.Getenv("KITH_SCREENSHOTS"); dir != "" {
		screenshotReport(t, api+"/reports/quality", obsAdminKey, filepath.Join(dir, "quality-report.png"))
	}
	t.Logf("%d figures on the report page checked against SQL; %d metric families from the API, %d from the worker",
		len(got)-1, len(apiFams), len(workerFams))
}

type labels map[string]string

// group is one SQL group: its labels and count.
type group struct {
	labels labels
	n      int
}

// groups runs a query whose columns are the label values, then the count.
func (e *env) groups(query string, names ...string) []group {
	e.t.Helper()
	rows, err := e.store.DB().Query(query)
	if err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []group
	for rows.Next() {
		vals := make([]string, len(names))
		dest := make([]any, len(names)+1)
		for i := range names {
			dest[i] = &vals[i]
		}
		var n int
		dest[len(names)] = &n
		if err := rows.Scan(dest...); err != nil {
			e.t.Fatal(err)
		}
		g := group{labels: labels{}, n: n}
		for i, name := range names {
			g.labels[name] = vals[i]
		}
		out = append(out, g)
	}
	return out
}

// consentGroups counts active contacts by purpose and latest status, and those
// with none for a purpose others have.
func (e *env) consentGroups() []group {
	latest := e.groups(`SELECT purpose, status, count(*) FROM (
			SELECT DISTINCT ON (k.contact_id, k.purpose) k.purpose, k.status FROM consents k
			JOIN contacts c ON c.id = k.contact_id AND c.status = 'active'
			ORDER BY k.contact_id, k.purpose, k.recorded_at DESC, k.id DESC) l GROUP BY 1, 2`, "purpose", "status")
	active := e.count(`SELECT count(*) FROM contacts WHERE status = 'active'`)
	for _, p := range e.groups(`SELECT DISTINCT purpose, 0 FROM consents`, "purpose") {
		n := active
		for _, g := range latest {
			if g.labels["purpose"] == p.labels["purpose"] {
				n -= g.n
			}
		}
		latest = append(latest, group{labels{"purpose": p.labels["purpose"], "status": "none"}, n})
	}
	return latest
}

// foldFields folds violation paths of events requests (batch.3.timestamp) to
// their field and bounds the field as the metrics do, adding up what folds
// together.
func foldFields(gs []group) []group {
	var out []group
	for _, g := range gs {
		f := eventField(g.labels["field"])
		l := labels{"field": telemetry.Field(f), "code": g.labels["code"]}
		if i := slices.IndexFunc(out, func(o group) bool { return o.labels["field"] == l["field"] && o.labels["code"] == l["code"] }); i >= 0 {
			out[i].n += g.n
			continue
		}
		out = append(out, group{l, g.n})
	}
	return out
}

// eventField is the field a violation of an events request names: its path
// without the message's position, or "message" for a whole message.
func eventField(path string) string {
	if regexp.MustCompile(`^batch\.[0-9]+$`).MatchString(path) {
		return "message"
	}
	return regexp.MustCompile(`^(batch\.[0-9]+|message)\.`).ReplaceAllString(path, "")
}

type metricsCheck struct {
	t    *testing.T
	fams map[string]*dto.MetricFamily
}

// value is the metric's value (a histogram's count) with all of want's labels.
func (m metricsCheck) value(name string, want labels) float64 {
	m.t.Helper()
	f := m.fams[name]
	if f == nil {
		m.t.Errorf("no metric %s", name)
		return -1
	}
	for _, mt := range f.Metric {
		if matches(mt, want) {
			switch {
			case mt.Counter != nil:
				return mt.Counter.GetValue()
			case mt.Gauge != nil:
				return mt.Gauge.GetValue()
			case mt.Histogram != nil:
				return float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func matches(mt *dto.Metric, want labels) bool {
	have := labels{}
	for _, l := range mt.Label {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func (m metricsCheck) equal(name string, l labels, want int) {
	m.t.Helper()
	if got := m.value(name, l); got != float64(want) {
		m.t.Errorf("%s%v = %v, the database holds %d", name, l, got, want)
	}
}

// family checks that the family has exactly the SQL's groups with their counts.
func (m metricsCheck) family(name string, want []group) {
	m.t.Helper()
	f := m.fams[name]
	if f == nil {
		if len(want) > 0 {
			m.t.Errorf("no metric %s; the database has %v", name, want)
		}
		return
	}
	for _, g := range want {
		m.equal(name, g.labels, g.n)
	}
	if len(f.Metric) != len(want) {
		m.t.Errorf("%s has %d series, the database %d groups (%v)", name, len(f.Metric), len(want), want)
	}
}

// scrape reads a /metrics endpoint in the Prometheus text format.
func scrape(t *testing.T, url string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return string(body), fams
}

// promtool lints a scrape with Prometheus's own checker (Debian's prometheus
// package; make test installs it).
func promtool(t *testing.T, scrape string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run tools/prereqs.sh promtool (make test does), or apt-get install -y prometheus")
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// bigQueryCounts counts each star-schema table's rows in the emulator.
func bigQueryCounts(t *testing.T, dataset string) map[string]int {
	t.Helper()
	ctx := context.Background()
	bqc, err := bigquery.NewClient(ctx, stack.BigQuery.Project, option.WithEndpoint("http://"+stack.BigQuery.Host), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer bqc.Close()
	out := map[string]int{}
	for _, table := range []string{"dim_contact", "fact_delivery", "fact_event", "fact_order", "fact_ticket"} {
		it, err := bqc.Query(fmt.Sprintf("SELECT count(*) FROM `%s.%s`", dataset, table)).Read(ctx)
		if err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		var row []bigquery.Value
		if err := it.Next(&row); err != nil && err != iterator.Done {
			t.Fatal(err)
		}
		n, _ := row[0].(int64)
		out[table] = int(n)
	}
	return out
}

// reportFigure is the SQL count of one figure of the report page, by its data-k key.
func (e *env) reportFigure(key string, bq map[string]int) (int, bool) {
	p := strings.Split(key, "/")
	one := func(q string, args ...any) (int, bool) {
		var n int
		if err := e.store.DB().Get(&n, q, args...); err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
		return n, true
	}
	col := func(f string) string { return `"` + strings.ReplaceAll(f, `"`, "") + `"` }
	switch {
	case p[0] == "contacts" && len(p) == 2:
		return one(`SELECT count(*) FROM contacts WHERE status = $1`, p[1])
	case p[0] == "violations" && len(p) == 3:
		n := 0
		for _, g := range e.groups(`SELECT COALESCE(v->>'field', ''), v->>'code', count(*) FROM quarantine q, jsonb_array_elements(q.violations) v
			WHERE COALESCE(v->>'severity', 'reject') = 'reject' GROUP BY 1, 2`, "field", "code") {
			if eventField(g.labels["field"]) == p[1] && g.labels["code"] == p[2] {
				n += g.n
			}
		}
		return n, true
	case p[0] == "repairs" && len(p) == 3:
		return one(`SELECT COALESCE(sum(n), 0) FROM quality_findings WHERE field = $1 AND code = $2`, p[1], p[2])
	case p[0] == "quarantine" && len(p) == 3 && p[2] == "open":
		return one(`SELECT count(*) FROM quarantine WHERE source = $1 AND resolved_at IS NULL`, p[1])
	case p[0] == "quarantine" && len(p) == 3 && p[2] == "resolved":
		return one(`SELECT count(*) FROM quarantine WHERE source = $1 AND resolved_at IS NOT NULL`, p[1])
	case key == "dedup/merged":
		return one(`SELECT count(*) FROM merges WHERE undone_at IS NULL`)
	case key == "dedup/undone":
		return one(`SELECT count(*) FROM merges WHERE undone_at IS NOT NULL`)
	case p[0] == "dedup" && p[1] == "review":
		return one(`SELECT count(*) FROM merge_reviews WHERE status = $1`, p[2])
	case p[0] == "dedup" && p[1] == "actor":
		return one(`SELECT count(*) FROM merges WHERE undone_at IS NULL AND actor = $1`, p[2])
	case p[0] == "dedup" && p[1] == "last" && slices.Contains([]string{"contacts", "comparisons", "links", "merged", "review", "rounds"}, p[2]):
		return one(`SELECT ` + p[2] + ` FROM dedup_runs ORDER BY finished_at DESC LIMIT 1`)
	case key == "completeness/unscored":
		return one(`SELECT count(*) FROM contacts WHERE status = 'active' AND completeness IS NULL`)
	case p[0] == "completeness" && p[1] == "now":
		b, _ := strconv.Atoi(p[2])
		return one(`SELECT count(*) FROM contacts WHERE status = 'active' AND completeness >= $1 AND (completeness < $1 + 10 OR $1 = 100)`, 10*b)
	case p[0] == "missing" && len(p) == 2:
		return one(`SELECT count(*) FROM contacts WHERE status = 'active' AND (` + col(p[1]) + ` IS NULL OR ` + col(p[1]) + `::text = '')`)
	case p[0] == "imputedonly" && len(p) == 2:
		return one(`SELECT count(*) FROM contacts WHERE status = 'active' AND `+col(p[1])+` IS NOT NULL
			AND (field_provenance->$1->>'imputed')::boolean`, p[1])
	case p[0] == "imputed" && len(p) >= 3: // a method may hold a slash (median/segment)
		return one(`SELECT count(*) FROM contacts WHERE status = 'active' AND (field_provenance->$1->>'imputed')::boolean
			AND COALESCE(field_provenance->$1->>'method', '') = $2`, p[1], strings.Join(p[2:], "/"))
	case p[0] == "archived" && len(p) == 2:
		return one(`SELECT count(*) FROM contacts_archive WHERE restored_at IS NULL AND reason = $1`, p[1])
	case p[0] == "consent" && len(p) == 3:
		for _, g := range e.consentGroups() {
			if g.labels["purpose"] == p[1] && g.labels["status"] == p[2] {
				return g.n, true
			}
		}
		return 0, true
	case p[0] == "deliveries" && len(p) == 4:
		return one(`SELECT count(*) FROM deliveries WHERE rule = $1 AND status = $2 AND (reason = $3 OR $3 = '' AND status NOT IN ('suppressed', 'capped'))`, p[1], p[2], p[3])
	case p[0] == "warehouse" && len(p) == 3 && p[2] == "postgres":
		return one(`SELECT count(*) FROM warehouse.` + col(p[1]))
	case p[0] == "warehouse" && len(p) == 3 && p[2] == "bigquery":
		n, ok := bq[p[1]]
		return n, ok
	}
	return 0, false
}

// chrome is headless Chromium with the flags that work on a closed network.
func chrome(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser tests need chromium: %v (make test installs it: tools/prereqs.sh chromium)", err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(bin),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1400, 800), chromedp.UserDataDir(t.TempDir()))
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	return ctx, func() { cancelT(); cancel(); cancelAlloc() }
}

// withAdminKey sends the admin key as a Basic password with every request.
func withAdminKey(key string) chromedp.Action[chromedp.Void] {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:"+key))
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return err
	})
}

// renderReport opens the report page and returns each data-k figure's text
// (and the page's HTML under "html"), with what Chromium logged as errors.
func renderReport(t *testing.T, url, key string) (map[string]string, []string) {
	t.Helper()
	ctx, cancel := chrome(t)
	defer cancel()
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == "error" {
				errs = append(errs, "console.error")
			}
		case *runtime.EventExceptionThrown:
			errs = append(errs, "exception "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				errs = append(errs, "log "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	enable := chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
		return err
	})
	if err := chromedp.Do(ctx, withAdminKey(key), enable, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#warehouse"))); err != nil {
		t.Fatal(err)
	}
	figures, err := chromedp.Run(ctx, chromedp.Evaluate[[][2]string](`Array.from(document.querySelectorAll('[data-k]')).map(e => [e.dataset.k, e.textContent.trim()])`))
	if err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // late console messages
	got := map[string]string{"html": html}
	for _, f := range figures {
		if prev, ok := got[f[0]]; ok && prev != f[1] {
			t.Errorf("the report shows %s twice: %s and %s", f[0], prev, f[1])
		}
		got[f[0]] = f[1]
	}
	mu.Lock()
	defer mu.Unlock()
	return got, slices.Clone(errs)
}

// screenshotReport saves the whole report page as a PNG (the README's picture).
func screenshotReport(t *testing.T, url, key, path string) {
	t.Helper()
	ctx, cancel := chrome(t)
	defer cancel()
	if err := chromedp.Do(ctx, withAdminKey(key), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#warehouse"))); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
