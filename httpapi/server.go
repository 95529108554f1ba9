// Package httpapi is Kith's HTTP API: progressive-profiling forms, inline
// validation, consent and double opt-in confirmation, and the hosted form pages.
// Handlers validate with package quality, then hand accepted data to the contact's
// workflow; they never write profile data themselves.
package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/telemetry"
)

// Server serves the HTTP API. It reaches contacts only through
// kith.ContactService: it never imports the workflows or the Temporal SDK.
type Server struct {
	Forms    map[string]*kith.Form
	Contacts kith.ContactService
	// Store keeps what the API refuses (quarantine).
	Store kith.EventStore
	// Syncs starts CRM syncs; Webhooks are the CRMs allowed to call, by name.
	Syncs    kith.CRMSyncs
	Webhooks map[string]WebhookProvider
	// ESP is the email service provider's event webhook (nil: not taken).
	ESP *ESPWebhook
	// Links checks signed links (unsubscribe, profile) and hashes browser cookies.
	Links kith.Signer
	// Events stores what the events API accepts (a group commit in production);
	// Sources are its write keys; Realtime the event types relayed to contacts'
	// workflows (default DefaultRealtime).
	Events   kith.EventLog
	Sources  []EventSource
	Realtime []string
	// PublicURL is the scheme and host CRMs call (signatures cover the full URL).
	PublicURL string
	// Quality configures standardization (DefaultRegion); Now is set per request.
	Quality quality.Options
	Now     func() time.Time
	Log     *slog.Logger

	// Privacy runs erasures for holders of Admins' keys (nil: no privacy API);
	// Erased refuses identities of erased people (nil: none checked).
	Privacy kith.Privacy
	Admins  []AdminKey
	Erased  kith.ErasedList
	// Exports, Reviews and Replays serve the other admin endpoints: exports,
	// de-duplication review decisions, dead-letter replays.
	Exports kith.Exporter
	Reviews kith.ReviewQueue
	Replays kith.DeliveryReplayer
	// Unmerges undoes merges (POST /v1/admin/merges/{id}/undo).
	Unmerges kith.Unmerger
	// Reports serves the data-quality report page (nil: not served);
	// WarehouseRows adds BigQuery's row counts to it (nil: not shown).
	Reports       kith.Reports
	WarehouseRows kith.WarehouseCounter

	// Lake keeps every inbound payload (tracking, forms, CRM and ESP webhooks)
	// for the raw lake, durable before the sender is answered (nil: none kept).
	Lake kith.LakeSpool

	// Metrics counts requests and events (nil: none); Tracer traces requests
	// (nil: none), continuing a caller's trace (W3C traceparent).
	Metrics *telemetry.API
	Tracer  trace.TracerProvider

	// CORSOrigins may call the API from a browser ("*" for any).
	CORSOrigins []string
	// MaxBody bounds a request body (default 64 KiB).
	MaxBody int64
	// RatePerIP and BurstPerIP bound requests per client IP (default 10/s, burst 40).
	RatePerIP  rate.Limit
	BurstPerIP int

	clicks   clickBursts  // recent email clicks, to tell scanners' bursts
	limiters sync.Map     // client IP → *rate.Limiter
	newIPs   atomic.Int64 // limiters added since the last sweep
}

// Handler returns the API's routes wrapped in its protections.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/forms/{form}/next", s.handleNext)
	mux.HandleFunc("POST /v1/forms/{form}/submissions", s.archived(kith.LakeForms, s.handleSubmit))
	mux.HandleFunc("POST /v1/validate", s.handleValidate)
	mux.HandleFunc("POST /v1/contacts/{contact}/consents", s.handleConsent)
	mux.HandleFunc("GET /v1/confirm", s.handleConfirm)
	mux.HandleFunc("GET /v1/claims/verify", s.handleVerifyClaim)
	mux.HandleFunc("GET /v1/unsubscribe", s.handleUnsubscribePage)
	mux.HandleFunc("POST /v1/unsubscribe", s.handleUnsubscribe)
	mux.HandleFunc("POST /v1/webhooks/crm/{provider}", s.archived(kith.LakeCRMWebhook, s.handleWebhook))
	mux.HandleFunc("POST /v1/webhooks/esp/sendgrid", s.archived(kith.LakeESP, s.handleESPEvents))
	mux.HandleFunc("POST /v1/privacy/erasures", s.admin(func() bool { return s.Privacy != nil }, s.handleErase))
	mux.HandleFunc("GET /v1/privacy/erasures/{contact}", s.admin(func() bool { return s.Privacy != nil }, s.handleErasure))
	mux.HandleFunc("GET /v1/privacy/contacts/{contact}/export", s.admin(func() bool { return s.Exports != nil }, s.handleExport))
	mux.HandleFunc("GET /v1/admin/reviews", s.admin(func() bool { return s.Reviews != nil }, s.handleReviews))
	mux.HandleFunc("POST /v1/admin/reviews", s.admin(func() bool { return s.Reviews != nil }, s.handleDecideReview))
	mux.HandleFunc("POST /v1/admin/merges/{id}/undo", s.admin(func() bool { return s.Unmerges != nil }, s.handleUnmerge))
	mux.HandleFunc("POST /v1/admin/deliveries/{id}/replay", s.admin(func() bool { return s.Replays != nil }, s.handleReplay))
	mux.HandleFunc("GET /reports/quality", s.admin(func() bool { return s.Reports != nil }, s.handleQualityReport))
	mux.HandleFunc("GET /v1/o/{file}", s.handleOpen)
	mux.HandleFunc("GET /v1/c/{token}", s.handleClick) // GET serves HEAD too (a scanner's)
	for _, call := range eventCallNames {
		mux.HandleFunc("POST /v1/"+call, s.archived(kith.LakeTracking, s.handleEvents(call)))
	}
	mux.HandleFunc("GET /forms/{form}", s.handleFormPage)
	mux.HandleFunc("GET /static/form.js", s.handleFormScript)
	mux.HandleFunc("GET /static/tracker.js", s.handleTrackerScript)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use "+strings.Join(allow, " or "), nil)
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+quote(r.URL.Path), nil)
	})
	// The request the mux routes is the one Instrument sees (nothing between
	// them copies it), so it reads the route pattern the mux matched.
	h := s.Metrics.Instrument(s.recoverPanics(s.cors(s.limit(mux))), func(r *http.Request) string {
		if rt := r.Pattern; rt != "" {
			trace.SpanFromContext(r.Context()).SetName(rt)
			trace.SpanFromContext(r.Context()).SetAttributes(semconv.HTTPRoute(rt))
			return rt
		}
		return ""
	})
	if s.Tracer != nil {
		h = otelhttp.NewHandler(h, "http", otelhttp.WithTracerProvider(s.Tracer), otelhttp.WithPropagators(telemetry.Propagator))
	}
	return h
}

// appendEvents stores events and counts them by source: accepted (new) or
// duplicate (stored before). With line, the request's raw lake line is written
// in the same transaction (the Events log is a kith.ArchivingEventLog).
func (s *Server) appendEvents(ctx context.Context, events []kith.Event, relay []bool, line *kith.LakeLine) ([]bool, error) {
	var fresh []bool
	var err error
	if line != nil {
		fresh, err = s.Events.(kith.ArchivingEventLog).AppendEventsArchived(ctx, events, relay, *line)
	} else {
		fresh, err = s.Events.AppendEvents(ctx, events, relay)
	}
	if err != nil {
		return nil, err
	}
	// Counted per source and outcome, not per event: a batch is thousands.
	type key struct{ source, outcome string }
	counts := map[key]int{}
	for i, e := range events {
		src := cmp.Or(e.WriteSource, string(e.Source))
		if fresh[i] {
			counts[key{src, telemetry.EventAccepted}]++
		} else {
			counts[key{src, telemetry.EventDuplicate}]++
		}
	}
	for k, n := range counts {
		s.Metrics.Events(k.source, k.outcome, n)
	}
	return fresh, nil
}

// allowed lists the methods another route of mux serves r's path with (the
// catch-all /v1/ route would otherwise answer 404 where 405 is right).
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/v1/" {
			out = append(out, m)
		}
	}
	if slices.Contains(out, http.MethodGet) {
		out = append(out, http.MethodHead)
	}
	return out
}

// errorBody is the one shape of every error the API returns.
type errorBody struct {
	Error struct {
		Code       string          `json:"code"`
		Message    string          `json:"message"`
		Violations kith.Violations `json:"violations,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, vs kith.Violations) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Violations = code, msg, vs
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readJSON reads and decodes a JSON request body into v (see decodeJSON),
// answering the client's mistakes itself; it reports whether to go on.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	body, p := s.readBody(w, r)
	if p == nil {
		p = decodeJSON(body, v)
	}
	if p != nil {
		writeError(w, p.status, p.code, p.msg, p.violations)
		return nil, false
	}
	return body, true
}

// statusOf is the one table from kith error codes to HTTP statuses.
var statusOf = map[kith.Code]int{
	kith.CodeInvalid:     http.StatusUnprocessableEntity,
	kith.CodeNotFound:    http.StatusNotFound,
	kith.CodeConflict:    http.StatusConflict,
	kith.CodeBusy:        http.StatusTooManyRequests,
	kith.CodeUnavailable: http.StatusServiceUnavailable,
}

// fail answers an error of the contact service: a coded one with its status
// (and Retry-After where a retry will do), anything else as internal.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *kith.Error
	status, ok := statusOf[kith.ErrorCode(err)]
	if !ok || !errors.As(err, &e) {
		s.internal(w, r, err)
		return
	}
	if e.Code == kith.CodeBusy || e.Code == kith.CodeUnavailable {
		w.Header().Set("Retry-After", "2")
	}
	writeError(w, status, string(e.Code), e.Message, e.Violations)
}

// clientIP is the peer address. X-Forwarded-For is not trusted: put a proxy
// that overwrites it in front before relying on it.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// eventCallNames are the events API's calls; eventCalls their paths.
var (
	eventCallNames = []string{"track", "identify", "page", "screen", "group", "alias", "batch"}
	eventCalls     = func() map[string]bool {
		m := map[string]bool{}
		for _, c := range eventCallNames {
			m["/v1/"+c] = true
		}
		return m
	}()
)

// limit answers 429 to a client IP over its rate.
func (s *Server) limit(next http.Handler) http.Handler {
	rps, burst := s.RatePerIP, s.BurstPerIP
	if rps == 0 {
		rps = 10
	}
	if burst == 0 {
		burst = 40
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/webhooks/") || eventCalls[r.URL.Path] {
			// Signed CRM deliveries (a refusal would only make the CRM retry) and the
			// events API (write keys; its group commit answers 503 when it is full).
			next.ServeHTTP(w, r)
			return
		}
		l, loaded := s.limiters.LoadOrStore(clientIP(r), rate.NewLimiter(rps, burst))
		if !loaded && s.newIPs.Add(1)%4096 == 0 {
			// Forget addresses whose bucket refilled: they are idle.
			s.limiters.Range(func(ip, l any) bool {
				if l.(*rate.Limiter).Tokens() >= float64(burst) {
					s.limiters.Delete(ip)
				}
				return true
			})
		}
		if !l.(*rate.Limiter).Allow() {
			if strings.HasPrefix(r.URL.Path, "/v1/o/") { // an image must never break: the open is not recorded
				w.Header().Set("Content-Type", "image/gif")
				w.Header().Set("Cache-Control", "no-store")
				w.Write(pixel)
				return
			}
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests from this address; retry in a second", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cors lets the configured origins call the API from a browser.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		// The events API is called from every site that embeds tracker.js: its
		// write keys, not origins, say who may send.
		if origin != "" && (eventCalls[r.URL.Path] || slices.Contains(s.CORSOrigins, "*") || slices.Contains(s.CORSOrigins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a bug into a 500 with a stable body, logged without the
// request's data.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.Log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p)
				writeError(w, http.StatusInternalServerError, "internal", "something went wrong on our side", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// internal answers a server-side failure: logged here, generic to the client.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	w.Header().Set("Retry-After", "2")
	writeError(w, http.StatusServiceUnavailable, "unavailable", "the request could not be completed now; retry shortly", nil)
}
