package telemetry_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/telemetry"
)

func TestInstrumentCountsByRoutePatternNotPath(t *testing.T) {
	reg := prometheus.NewRegistry()
	api := telemetry.NewAPI(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/contacts/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := api.Instrument(mux, func(r *http.Request) string { return r.Pattern })
	for _, path := range []string{"/v1/contacts/a", "/v1/contacts/b", "/nothing/here"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/v1/contacts/c", nil))
	want := `
# HELP kith_http_requests_total HTTP requests answered, by route pattern, method and status code.
# TYPE kith_http_requests_total counter
kith_http_requests_total{code="404",method="GET",route="unmatched"} 1
kith_http_requests_total{code="405",method="other",route="unmatched"} 1
kith_http_requests_total{code="418",method="GET",route="GET /v1/contacts/{id}"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kith_http_requests_total"); err != nil {
		t.Error(err)
	}
	var none *telemetry.API // handlers built without metrics
	none.Events("web", telemetry.EventAccepted, 3)
	none.Refused("web", "invalid", 2)
	if got := none.Instrument(mux, nil); got != http.Handler(mux) {
		t.Error("a nil API wraps the handler")
	}
}

func TestRefusalsCountMessagesAndRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	api := telemetry.NewAPI(reg)
	api.Refused("web", "invalid", 3)
	api.Refused("web", "unsupported_media_type", 0) // an unreadable body is one message
	api.Events("web", telemetry.EventAccepted, 5)
	api.Events("web", telemetry.EventDuplicate, 0)
	// No series for a zero count; an unreadable body counts as one message.
	want := `
# HELP kith_events_total Messages sent to the events API, by source (write key's name) and outcome (accepted, duplicate, refused, dropped).
# TYPE kith_events_total counter
kith_events_total{outcome="accepted",source="web"} 5
kith_events_total{outcome="refused",source="web"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kith_events_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "kith_event_refusals_total"); n != 2 {
		t.Errorf("%d refusal series, want 2", n)
	}
}

func TestStoreFiguresAreReadOncePerTTL(t *testing.T) {
	calls := 0
	fail := false
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s := &telemetry.Store{TTL: time.Hour, Report: func(context.Context) (kith.QualityReport, error) {
		calls++
		if fail {
			return kith.QualityReport{}, errors.New("down")
		}
		return kith.QualityReport{At: at,
			Contacts:   []kith.Count{{Key: "active", N: 7}},
			Violations: []kith.FieldCount{{Field: "email", Code: "invalid_email", N: 2}, {Field: "properties.sku", Code: "too_long", N: 1}, {Field: "traits.x", Code: "too_long", N: 4}},
			Warehouse:  []kith.WarehouseTableCount{{Table: "fact_event", Postgres: 9, Watermark: at.Add(-90 * time.Second)}},
		}, nil
	}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	want := `
# HELP kith_contacts Contacts by status (active, archived, merged).
# TYPE kith_contacts gauge
kith_contacts{status="active"} 7
# HELP kith_quarantine_violations Refused values held in quarantine, by field and code.
# TYPE kith_quarantine_violations gauge
kith_quarantine_violations{code="invalid_email",field="email"} 2
kith_quarantine_violations{code="too_long",field="other"} 5
# HELP kith_warehouse_load_lag_seconds Time since each star-schema table's load watermark.
# TYPE kith_warehouse_load_lag_seconds gauge
kith_warehouse_load_lag_seconds{table="fact_event"} 90
`
	for range 3 {
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kith_contacts", "kith_quarantine_violations", "kith_warehouse_load_lag_seconds"); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("three scrapes read the store %d times, want once", calls)
	}

	// A store that cannot be read says so, and the last good figures stay.
	fail = true
	s2 := &telemetry.Store{TTL: time.Nanosecond, Report: s.Report}
	reg2 := prometheus.NewRegistry()
	reg2.MustRegister(s2)
	if err := testutil.GatherAndCompare(reg2, strings.NewReader(`
# HELP kith_store_report_up 1 when the last read of the store's figures succeeded.
# TYPE kith_store_report_up gauge
kith_store_report_up 0
`), "kith_store_report_up", "kith_contacts"); err != nil {
		t.Error(err)
	}
}

func TestTracingIsOffUnlessACollectorIsNamed(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	tp, shutdown, err := telemetry.Tracing(context.Background(), "kith-test", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tp.(noop.TracerProvider); !ok {
		t.Errorf("with no OTEL_EXPORTER_OTLP_ENDPOINT tracing is %T, want off", tp)
	}
	shutdown(context.Background())
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318"
	tp, shutdown, err = telemetry.Tracing(context.Background(), "kith-test", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tp.(noop.TracerProvider); ok {
		t.Error("with an endpoint tracing is still off")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	shutdown(ctx) // nothing listens there: the flush gives up, the test does not hang
	env["OTEL_TRACES_EXPORTER"] = "none"
	if tp, _, _ := telemetry.Tracing(context.Background(), "kith-test", getenv); tp == nil {
		t.Fatal("nil provider")
	} else if _, ok := tp.(noop.TracerProvider); !ok {
		t.Error("OTEL_TRACES_EXPORTER=none does not turn tracing off")
	}
}

func TestFieldLabelsAreBounded(t *testing.T) {
	for in, want := range map[string]string{"email": "email", "timestamp": "timestamp", "": "", "properties.sku": "other", "grace@example.com": "other"} {
		if got := telemetry.Field(in); got != want {
			t.Errorf("Field(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOperationsPortServesMetricsAndProfiles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := telemetry.Serve(ctx, "127.0.0.1:0", telemetry.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/metrics": "go_goroutines", "/healthz": "ok", "/debug/pprof/": "goroutine", "/debug/pprof/heap?debug=1": "heap profile"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, %.200q; want 200 with %q", path, resp.StatusCode, body, want)
		}
	}
}
