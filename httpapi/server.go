// Package httpapi is Kith's HTTP API: progressive-profiling forms, inline
// validation, consent and double opt-in confirmation, and the hosted form pages.
// Handlers validate with package quality, then hand accepted data to the contact's
// workflow; they never write profile data themselves.
package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// Server serves the HTTP API.
type Server struct {
	Forms    map[string]*kith.Form
	Store    Store
	Contacts Contacts
	// Syncs starts CRM syncs; Webhooks are the CRMs allowed to call, by name.
	Syncs    CRMSyncs
	Webhooks map[string]WebhookProvider
	// PublicURL is the scheme and host CRMs call (signatures cover the full URL).
	PublicURL string
	// Quality configures standardization (DefaultRegion); Now is set per request.
	Quality quality.Options
	Now     func() time.Time
	NewID   func() string // new contact ids (UUIDs)
	Log     *slog.Logger

	// CORSOrigins may call the API from a browser ("*" for any).
	CORSOrigins []string
	// MaxBody bounds a request body (default 64 KiB).
	MaxBody int64
	// RatePerIP and BurstPerIP bound requests per client IP (default 10/s, burst 40).
	RatePerIP  rate.Limit
	BurstPerIP int

	limiters sync.Map     // client IP → *rate.Limiter
	newIPs   atomic.Int64 // limiters added since the last sweep
}

// Handler returns the API's routes wrapped in its protections.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/forms/{form}/next", s.handleNext)
	mux.HandleFunc("POST /v1/forms/{form}/submissions", s.handleSubmit)
	mux.HandleFunc("POST /v1/validate", s.handleValidate)
	mux.HandleFunc("POST /v1/contacts/{contact}/consents", s.handleConsent)
	mux.HandleFunc("GET /v1/confirm", s.handleConfirm)
	mux.HandleFunc("POST /v1/webhooks/crm/{provider}", s.handleWebhook)
	mux.HandleFunc("GET /forms/{form}", s.handleFormPage)
	mux.HandleFunc("GET /static/form.js", s.handleFormScript)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path, nil)
	})
	return s.recoverPanics(s.cors(s.limit(mux)))
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

// readJSON decodes a JSON request body into v, answering the client's mistakes
// (wrong content type, too large, malformed) itself; it reports whether to go on.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json", nil)
		return nil, false
	}
	max := s.MaxBody
	if max <= 0 {
		max = 64 << 10
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than the limit of "+byteCount(max), nil)
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_request", "the body could not be read", nil)
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed_json", "the body is not the expected JSON: "+jsonProblem(err), nil)
		return nil, false
	}
	return body, true
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return typ.Field + " must be " + typ.Type.String()
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "it ended early or is not an object"
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
		if strings.HasPrefix(r.URL.Path, "/v1/webhooks/") {
			next.ServeHTTP(w, r) // signed CRM deliveries: a refusal would only make the CRM retry
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
		if origin != "" && (slices.Contains(s.CORSOrigins, "*") || slices.Contains(s.CORSOrigins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Content-Type")
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
	writeError(w, http.StatusServiceUnavailable, "unavailable", "the request could not be completed now; retry shortly", nil)
}
