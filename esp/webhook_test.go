package esp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/crm"
	"github.com/kithhq/kith/esp"
)

// TestWebhookSignsAndCarriesTheIdempotencyKey: the receiver can verify the
// body and drop a retried send by its key; a 503 with Retry-After is a
// retryable refusal with the wait.
func TestWebhookSignsAndCarriesTheIdempotencyKey(t *testing.T) {
	seen := map[string]int{}
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := crm.VerifyHMAC("s3cret", body, r.Header.Get("X-Kith-Signature"), time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if fail {
			fail = false
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		seen[r.Header.Get("Idempotency-Key")]++
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	hook := &esp.Webhook{URL: srv.URL, Secret: "s3cret"}
	m := kith.Message{DeliveryID: "dlv_1", ContactID: "c1", To: "ada@example.com", Template: "welcome"}
	_, err := hook.Send(context.Background(), m)
	var ae *kith.APIError
	if !errors.As(err, &ae) || !ae.Retryable() || ae.RetryAfter != 7*time.Second {
		t.Fatalf("503: %v, want a retryable refusal after 7s", err)
	}
	for range 2 {
		if id, err := hook.Send(context.Background(), m); err != nil || id != "dlv_1" {
			t.Fatalf("send: %q %v", id, err)
		}
	}
	if seen["dlv_1"] != 2 {
		t.Errorf("the receiver saw key dlv_1 %d times, want each retry to carry it", seen["dlv_1"])
	}
	bad := &esp.Webhook{URL: srv.URL, Secret: "wrong"}
	if _, err := bad.Send(context.Background(), m); !errors.As(err, &ae) || ae.Status != 401 || ae.Retryable() {
		t.Errorf("wrong secret: %v, want a 401 that is not retried", err)
	}
}
