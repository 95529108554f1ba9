package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// API holds the HTTP API's own metrics. A nil *API records nothing, so
// handlers built without metrics (tests) need no checks.
type API struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	events   *prometheus.CounterVec
	refused  *prometheus.CounterVec
}

// Event outcomes: what became of each message the events API was sent.
const (
	EventAccepted  = "accepted"  // stored
	EventDuplicate = "duplicate" // its messageId was stored before: answered the same, not stored again
	EventRefused   = "refused"   // refused with the request (kept in quarantine)
	EventDropped   = "dropped"   // an identify of an erased person: not stored, counted
)

// NewAPI registers the API's metrics on reg.
func NewAPI(reg prometheus.Registerer) *API {
	a := &API{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kith_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kith_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kith_events_total",
			Help: "Messages sent to the events API, by source (write key's name) and outcome (accepted, duplicate, refused, dropped).",
		}, []string{"source", "outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kith_event_refusals_total",
			Help: "Events API requests refused (body kept in quarantine), by source and reason code.",
		}, []string{"source", "reason"}),
	}
	reg.MustRegister(a.requests, a.duration, a.events, a.refused)
	return a
}

// Events counts n messages of source with an outcome.
func (a *API) Events(source, outcome string, n int) {
	if a == nil || n == 0 {
		return
	}
	a.events.WithLabelValues(source, outcome).Add(float64(n))
}

// Refused counts a refused events request of n messages (n ≥ 1: an unreadable
// body counts as one) with its reason code.
func (a *API) Refused(source, reason string, n int) {
	if a == nil {
		return
	}
	a.refused.WithLabelValues(source, reason).Inc()
	a.events.WithLabelValues(source, EventRefused).Add(float64(max(n, 1)))
}

// Instrument counts and times every request next answers; route names the
// request's route pattern ("" when none matched: counted as "unmatched").
func (a *API) Instrument(next http.Handler, route func(*http.Request) string) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		rt := route(r)
		if rt == "" {
			rt = "unmatched"
		}
		a.requests.WithLabelValues(rt, method(r.Method), strconv.Itoa(sw.status)).Inc()
		a.duration.WithLabelValues(rt).Observe(time.Since(began).Seconds())
	})
}

// method bounds the method label: a client may send any token.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines, flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
