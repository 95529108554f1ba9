package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/telemetry"
	"github.com/kithhq/kith/workflows"
)

// TestOneTraceFromRequestToDatabase: with tracing on, an erasure request is one
// trace from the HTTP request through the Erasure workflow and its activities
// down to their PostgreSQL statements, each span the child of the one that
// caused it (exported to an in-memory exporter).
func TestOneTraceFromRequestToDatabase(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { tp.Shutdown(t.Context()) })
	tracing, err := telemetry.TemporalTracing(tp)
	if err != nil {
		t.Fatal(err)
	}
	k := newKith(t, workflows.ContactInput{}, func(o *client.Options) { o.Interceptors = append(o.Interceptors, tracing) })
	k.API.Tracer = tp
	traced := httptest.NewServer(k.API.Handler())
	t.Cleanup(traced.Close)
	k.URL = traced.URL

	contactID := k.subscribe(t, "traced.person@example.com")
	spans.Reset()
	if code, out := k.erase(t, contactID); code != 202 && code != 200 || out["status"] != "completed" {
		t.Fatalf("erasure answered %d %v", code, out)
	}
	byID := map[string]tracetest.SpanStub{}
	var request tracetest.SpanStub
	eventually(t, "the erasure's workflow span", func() bool {
		for _, s := range spans.GetSpans() {
			byID[s.SpanContext.SpanID().String()] = s
			if s.Name == "POST /v1/privacy/erasures" {
				request = s
			}
		}
		for _, s := range byID {
			if s.Name == "RunWorkflow:"+workflows.ErasureName {
				return request.Name != ""
			}
		}
		return false
	})
	// Walk up from each PostgreSQL statement an activity ran: the chain must
	// pass through the activity, the workflow and the client's start, and end
	// at the request's span.
	chains := 0
	for _, s := range byID {
		if !strings.HasPrefix(s.Name, "postgres ") || s.SpanContext.TraceID() != request.SpanContext.TraceID() {
			continue
		}
		var names []string
		for p := s; ; {
			names = append(names, p.Name)
			parent, ok := byID[p.Parent.SpanID().String()]
			if !p.Parent.IsValid() || !ok {
				break
			}
			p = parent
		}
		path := strings.Join(names, " ← ")
		if !strings.Contains(path, "RunActivity:") {
			continue // the handler's own statements
		}
		chains++
		for _, want := range []string{"RunActivity:", "StartActivity:", "RunWorkflow:" + workflows.ErasureName, "StartWorkflow:" + workflows.ErasureName, "POST /v1/privacy/erasures"} {
			if !strings.Contains(path, want) {
				t.Errorf("span chain %s lacks %s", path, want)
			}
		}
		if top := names[len(names)-1]; top != request.Name {
			t.Errorf("span chain %s does not end at the request", path)
		}
	}
	if chains == 0 {
		var all []string
		for _, s := range byID {
			all = append(all, s.Name)
		}
		t.Fatalf("no PostgreSQL statement of an activity in the request's trace; spans: %v", all)
	}
	t.Logf("%d PostgreSQL statements of the erasure's activities traced back to the request", chains)

	// A caller's trace continues: the request's span is the child of the
	// traceparent it was sent with.
	spans.Reset()
	req, _ := http.NewRequest("GET", traced.URL+"/healthz", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(10 * time.Millisecond)
	got := spans.GetSpans()
	if len(got) != 1 || got[0].SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || got[0].Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("a request with a traceparent made spans %v, want one child of the caller's span", got)
	}
}
