package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kithhq/kith/httpapi"
)

func TestCORSAllowsOnlyConfiguredOrigins(t *testing.T) {
	api := &httpapi.Server{CORSOrigins: []string{"https://shop.example"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := api.Handler()
	for origin, allowed := range map[string]bool{"https://shop.example": true, "https://evil.example": false} {
		req := httptest.NewRequest("OPTIONS", "/v1/validate", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("Access-Control-Allow-Origin") == origin; got != allowed {
			t.Errorf("%s: allowed %v, want %v (headers %v)", origin, got, allowed, rec.Header())
		}
	}
}

func TestRateLimitPerClientIP(t *testing.T) {
	api := &httpapi.Server{RatePerIP: 0.001, BurstPerIP: 3, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := api.Handler()
	codes := map[string][]int{}
	for range 5 {
		for _, ip := range []string{"192.0.2.1:1000", "192.0.2.2:1000"} {
			req := httptest.NewRequest("GET", "/healthz", nil)
			req.RemoteAddr = ip
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			codes[ip] = append(codes[ip], rec.Code)
			if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	for ip, got := range codes {
		want := []int{200, 200, 200, 429, 429}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v (each address has its own burst of 3)", ip, got, want)
				break
			}
		}
	}
}
