// Package esp delivers Kith's triggered messages through email service
// providers: SendGrid's v3 Mail Send API (or a server that speaks it, such as
// the simulator in espsim) and a generic signed webhook for any campaign tool.
package esp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kithhq/kith"
)

// SendGrid sends through SendGrid's v3 Mail Send API with dynamic templates.
// It implements kith.ESP.
type SendGrid struct {
	BaseURL string // https://api.sendgrid.com
	APIKey  string // a Mail Send key; never logged
	From    string // the verified sender address
	// Templates maps Kith's template names (a rule's template) to SendGrid
	// template ids (d-…); a name not listed is sent as the id itself.
	Templates map[string]string
	HTTP      *http.Client
	Now       func() time.Time
}

// The custom_args SendGrid echoes on every event of a message, which the event
// webhook links back to the delivery and the contact.
const (
	ArgDelivery = "kith_delivery_id"
	ArgContact  = "kith_contact_id"
	ArgPurpose  = "kith_purpose"
)

type sgAddress struct {
	Email string `json:"email"`
}

type sgMail struct {
	Personalizations []sgPersonalization `json:"personalizations"`
	From             sgAddress           `json:"from"`
	TemplateID       string              `json:"template_id"`
}

type sgPersonalization struct {
	To                  []sgAddress       `json:"to"`
	DynamicTemplateData map[string]any    `json:"dynamic_template_data,omitempty"`
	CustomArgs          map[string]string `json:"custom_args"`
}

// Send implements kith.ESP: POST /v3/mail/send, answered 202 with the message
// id in X-Message-Id. SendGrid has no idempotency key: a send whose answer was
// lost is sent again by the retry (at least once; see activities.Deliveries).
func (s *SendGrid) Send(ctx context.Context, m kith.Message) (string, error) {
	tmpl := m.Template
	if id, ok := s.Templates[m.Template]; ok {
		tmpl = id
	}
	body, err := json.Marshal(sgMail{
		Personalizations: []sgPersonalization{{
			To: []sgAddress{{Email: m.To}}, DynamicTemplateData: m.Data,
			CustomArgs: map[string]string{ArgDelivery: m.DeliveryID, ArgContact: m.ContactID, ArgPurpose: m.Purpose},
		}},
		From: sgAddress{Email: s.From}, TemplateID: tmpl,
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.BaseURL, "/")+"/v3/mail/send", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	req.Header.Set("Content-Type", "application/json")
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("ESP unreachable: %w", err) // retried
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		return "", kith.NewAPIError("ESP", resp, sgMessage(b), now())
	}
	return resp.Header.Get("X-Message-Id"), nil
}

// sgMessage is the first of SendGrid's error messages, short.
func sgMessage(b []byte) string {
	var e struct {
		Errors []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &e) == nil && len(e.Errors) > 0 {
		if e.Errors[0].Field != "" {
			return e.Errors[0].Field + ": " + e.Errors[0].Message
		}
		return e.Errors[0].Message
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// Unconfigured is the ESP of a worker without one: every send fails at once
// (non-retryable), so the deliveries go to the dead letter for a replay once
// an ESP is configured.
type Unconfigured struct{}

// Send implements kith.ESP.
func (Unconfigured) Send(context.Context, kith.Message) (string, error) {
	return "", &kith.APIError{Service: "ESP", Status: http.StatusPreconditionFailed,
		Message: "no ESP is configured: set KITH_ESP_KEY (and KITH_ESP_URL), then `starter deliveries retry`"}
}
