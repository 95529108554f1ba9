package esp

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
)

// SendGrid's Signed Event Webhook: each POST carries a JSON array of events,
// signed with ECDSA P-256 over SHA-256 of the timestamp header's text followed
// by the raw body; the signature is base64 of its ASN.1 DER form.
const (
	HeaderSignature = "X-Twilio-Email-Event-Webhook-Signature"
	HeaderTimestamp = "X-Twilio-Email-Event-Webhook-Timestamp"
	// MaxSkew is how far a delivery's timestamp may be from now: an older one
	// is refused (a replay), whatever its signature.
	MaxSkew = 10 * time.Minute
)

// ParsePublicKey reads the verification key SendGrid shows (base64 of the
// DER-encoded public key).
func ParsePublicKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("the SendGrid verification key is not base64")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("the SendGrid verification key is not a public key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("the SendGrid verification key is not an ECDSA key")
	}
	return pub, nil
}

// Sign signs a webhook body as SendGrid does, returning the two headers'
// values (the simulator sends with it; tests forge with other keys).
func Sign(key *ecdsa.PrivateKey, at time.Time, body []byte) (signature, timestamp string, err error) {
	timestamp = strconv.FormatInt(at.Unix(), 10)
	sum := sha256.Sum256(append([]byte(timestamp), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	return base64.StdEncoding.EncodeToString(sig), timestamp, err
}

// Verify checks a webhook body's signature and that its timestamp is within
// MaxSkew of now.
func Verify(pub *ecdsa.PublicKey, signature, timestamp string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("no valid " + HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return errors.New("the webhook's timestamp is stale")
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(sig) == 0 {
		return errors.New("no valid " + HeaderSignature)
	}
	sum := sha256.Sum256(append([]byte(timestamp), body...))
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		return errors.New("the webhook's signature does not verify")
	}
	return nil
}

// Event is one SendGrid event as the webhook sends it (fields Kith does not
// use are ignored). The custom_args of the message come back as top-level
// fields.
type Event struct {
	Email       string `json:"email"`
	Timestamp   int64  `json:"timestamp"`
	Event       string `json:"event"`
	SGEventID   string `json:"sg_event_id"`
	SGMessageID string `json:"sg_message_id"`
	MachineOpen bool   `json:"sg_machine_open"`
	URL         string `json:"url,omitempty"`
	Type        string `json:"type,omitempty"` // bounce: "bounce" (hard) or "blocked"
	Reason      string `json:"reason,omitempty"`
	Status      string `json:"status,omitempty"`
	Class       string `json:"bounce_classification,omitempty"`
	ASMGroupID  int    `json:"asm_group_id,omitempty"`
	Delivery    string `json:"kith_delivery_id,omitempty"`
	Contact     string `json:"kith_contact_id,omitempty"`
	Purpose     string `json:"kith_purpose,omitempty"`
}

// EventTypes are Kith's names for SendGrid's events (the Segment email spec's
// where it has one).
var EventTypes = map[string]string{
	"processed": "Email Processed", "delivered": "Email Delivered", "deferred": "Email Deferred",
	"bounce": "Email Bounced", "dropped": "Email Dropped", "open": "Email Opened", "click": "Email Link Clicked",
	"spamreport": "Email Marked as Spam", "unsubscribe": "Unsubscribed", "group_unsubscribe": "Group Unsubscribed",
	"group_resubscribe": "Group Resubscribed",
}

// Consequence is what an event changes beyond being stored.
type Consequence int

// A hard bounce or a spam report suppresses the address and withdraws the
// contact's email consent; an unsubscribe withdraws the message's purpose.
const (
	None Consequence = iota
	Suppress
	Unsubscribe
)

// ToEvent is the event as Kith stores it, its consequence, and what is wrong
// with it (a violation per field) when it cannot be stored.
func (e Event) ToEvent(received time.Time) (kith.Event, Consequence, kith.Violations) {
	var vs kith.Violations
	bad := func(field, msg string) {
		vs = append(vs, kith.Violation{Field: field, Code: "invalid", Message: msg, Severity: kith.SeverityReject})
	}
	typ, ok := EventTypes[e.Event]
	if !ok {
		bad("event", fmt.Sprintf("%q is not a SendGrid event Kith knows", e.Event))
	}
	if e.SGEventID == "" || len(e.SGEventID) > 100 {
		bad("sg_event_id", "is required (at most 100 characters): events are stored once by it")
	}
	if e.Timestamp <= 0 {
		bad("timestamp", "is required (Unix seconds)")
	}
	if e.Contact != "" {
		if _, err := uuid.Parse(e.Contact); err != nil {
			bad("kith_contact_id", "is not a Kith contact id")
		}
	}
	if len(vs) > 0 {
		return kith.Event{}, None, vs
	}
	props := map[string]any{"delivery_id": e.Delivery, "sg_message_id": e.SGMessageID}
	for k, v := range map[string]string{"url": e.URL, "bounce_type": e.Type, "reason": e.Reason, "status": e.Status, "bounce_classification": e.Class} {
		if v != "" {
			props[k] = v
		}
	}
	if e.ASMGroupID != 0 {
		props["asm_group_id"] = e.ASMGroupID
	}
	p, _ := json.Marshal(props)
	out := kith.Event{
		EventID: "sendgrid/" + e.SGEventID, ContactID: e.Contact, Type: typ, Source: kith.SourceESP,
		OccurredAt: time.Unix(e.Timestamp, 0).UTC(), ReceivedAt: received, Properties: p,
		Call: "track", WriteSource: "sendgrid", MessageID: e.SGEventID, Machine: e.MachineOpen,
	}
	switch {
	case e.Event == "spamreport", e.Event == "bounce" && e.Type != "blocked":
		return out, Suppress, nil
	case e.Event == "unsubscribe", e.Event == "group_unsubscribe":
		return out, Unsubscribe, nil
	}
	return out, None, nil
}
