// Package espsim is a simulator of an email service provider — a subset of
// SendGrid's v3 API, not SendGrid — for tests and demos: it accepts Mail Send
// calls and records them, injects faults (429 with Retry-After, 500, slow
// answers), and sends Signed Event Webhook deliveries back (delivered, opens
// including machine opens, clicks, bounces, unsubscribes, duplicates).
package espsim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kithhq/kith/esp"
)

// Sim is the simulator. Its zero value is not usable: call New.
type Sim struct {
	APIKey string
	Key    *ecdsa.PrivateKey // signs event webhooks

	mu     sync.Mutex
	sent   []Sent
	faults []Fault
	seq    int
}

// Sent is a Mail Send call the simulator accepted.
type Sent struct {
	MessageID  string
	To         string
	TemplateID string
	Data       map[string]any
	Args       map[string]string // custom_args
	At         time.Time
}

// Fault is how the simulator answers the next Mail Send call instead of
// accepting it: Status (429 or 5xx) with Retry-After seconds, or a Delay
// before an ordinary answer.
type Fault struct {
	Status     int
	RetryAfter int
	Delay      time.Duration
}

// New returns a simulator accepting apiKey, with a fresh signing key.
func New(apiKey string) *Sim {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // the system's randomness failed
	}
	return &Sim{APIKey: apiKey, Key: key}
}

// PublicKey is the verification key as SendGrid shows it (base64 DER), for
// KITH_SENDGRID_WEBHOOK_KEY.
func (s *Sim) PublicKey() string {
	der, _ := x509.MarshalPKIXPublicKey(&s.Key.PublicKey)
	return base64.StdEncoding.EncodeToString(der)
}

// Fail queues faults for the next Mail Send calls, in order.
func (s *Sim) Fail(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Sent returns the accepted messages, oldest first.
func (s *Sim) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// sgError is SendGrid's error body: {"errors": [{"message", "field"}]}.
type sgError struct {
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeSGError(w http.ResponseWriter, status int, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string][]sgError{"errors": {{Message: msg, Field: field}}})
}

// ServeHTTP serves POST /v3/mail/send.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
		writeSGError(w, http.StatusNotFound, "", "the simulator serves POST /v3/mail/send only")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.APIKey)) != 1 {
		writeSGError(w, http.StatusUnauthorized, "", "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	s.mu.Lock()
	var f Fault
	if len(s.faults) > 0 {
		f, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Status != 0 {
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		writeSGError(w, f.Status, "", "simulated fault")
		return
	}
	var m struct {
		Personalizations []struct {
			To []struct {
				Email string `json:"email"`
			} `json:"to"`
			DynamicTemplateData map[string]any    `json:"dynamic_template_data"`
			CustomArgs          map[string]string `json:"custom_args"`
		} `json:"personalizations"`
		From struct {
			Email string `json:"email"`
		} `json:"from"`
		TemplateID string `json:"template_id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 20<<20)).Decode(&m); err != nil {
		writeSGError(w, http.StatusBadRequest, "", "Bad Request: "+err.Error())
		return
	}
	switch {
	case len(m.Personalizations) == 0 || len(m.Personalizations[0].To) == 0 || m.Personalizations[0].To[0].Email == "":
		writeSGError(w, http.StatusBadRequest, "personalizations.0.to", "The to array is required for all personalization objects")
		return
	case m.From.Email == "":
		writeSGError(w, http.StatusBadRequest, "from.email", "The from email does not contain a valid address.")
		return
	case m.TemplateID == "":
		writeSGError(w, http.StatusBadRequest, "template_id", "A template_id is required for dynamic template messages.")
		return
	}
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("sim-%06d", s.seq)
	p := m.Personalizations[0]
	s.sent = append(s.sent, Sent{MessageID: id, To: p.To[0].Email, TemplateID: m.TemplateID, Data: p.DynamicTemplateData, Args: p.CustomArgs, At: time.Now()})
	s.mu.Unlock()
	w.Header().Set("X-Message-Id", id)
	w.WriteHeader(http.StatusAccepted)
}

// Events builds SendGrid events for an accepted message: kinds are SendGrid's
// event names, plus "machine_open" (an open by a mail privacy proxy) and
// "hard_bounce"/"blocked" (bounce types).
func (s *Sim) Events(m Sent, at time.Time, kinds ...string) []esp.Event {
	var out []esp.Event
	for i, k := range kinds {
		e := esp.Event{Email: m.To, Timestamp: at.Unix(), Event: k, SGMessageID: m.MessageID + ".filter0001",
			SGEventID: fmt.Sprintf("%s-%s-%d", m.MessageID, k, i), Delivery: m.Args[esp.ArgDelivery],
			Contact: m.Args[esp.ArgContact], Purpose: m.Args[esp.ArgPurpose]}
		switch k {
		case "machine_open":
			e.Event, e.MachineOpen = "open", true
		case "click":
			e.URL = "https://shop.example/p/1"
		case "hard_bounce":
			e.Event, e.Type, e.Reason, e.Status, e.Class = "bounce", "bounce", "550 5.1.1 The email account does not exist", "5.1.1", "Invalid Address"
		case "blocked":
			e.Event, e.Type, e.Reason, e.Class = "bounce", "blocked", "421 try again later", "Reputation"
		}
		out = append(out, e)
	}
	return out
}

// SendEvents posts one signed webhook delivery of events to url and returns
// the status Kith answered. forge signs with a key Kith does not know.
func (s *Sim) SendEvents(ctx context.Context, url string, events []esp.Event, at time.Time, forge bool) (int, error) {
	body, err := json.Marshal(events)
	if err != nil {
		return 0, err
	}
	key := s.Key
	if forge {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return 0, err
		}
	}
	sig, ts, err := esp.Sign(key, at, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(esp.HeaderSignature, sig)
	req.Header.Set(esp.HeaderTimestamp, ts)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
