package esp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/crm"
)

// Webhook hands each message to any campaign tool as a signed JSON POST: the
// body is the kith.Message, X-Kith-Signature signs it as Kith's CRM webhooks
// are signed (t=<unix>,v1=<hex HMAC-SHA256 of "t.body">), and Idempotency-Key
// is the delivery id, so a receiver that honours it takes a retried send once.
// It implements kith.ESP.
type Webhook struct {
	URL    string
	Secret string // never logged
	HTTP   *http.Client
	Now    func() time.Time
}

// Send implements kith.ESP: a 2xx answer is acceptance, its X-Message-Id (if
// any) the provider's id.
func (w *Webhook) Send(ctx context.Context, m kith.Message) (string, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.DeliveryID)
	req.Header.Set("X-Kith-Signature", crm.SignHMAC(w.Secret, body, now()))
	client := w.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("campaign webhook unreachable: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", kith.NewAPIError("ESP", resp, string(b), now())
	}
	if id := resp.Header.Get("X-Message-Id"); id != "" {
		return id, nil
	}
	return m.DeliveryID, nil
}
