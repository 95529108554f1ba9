package kith

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// DeliveryStatus is where a triggered message stands.
type DeliveryStatus string

// A delivery is written as sending before the ESP call and completed after:
// accepted when the ESP took it, failed (the dead letter ops replay) when the
// retries ran out. A message the workflow or the consent check at send time
// held back is recorded as capped or suppressed, with its reason.
const (
	DeliverySending    DeliveryStatus = "sending"
	DeliveryAccepted   DeliveryStatus = "accepted"
	DeliverySuppressed DeliveryStatus = "suppressed"
	DeliveryCapped     DeliveryStatus = "capped"
	DeliveryFailed     DeliveryStatus = "failed"
)

// Final reports whether nothing more will happen to a delivery in this status
// (failed ones are replayed by ops, not by retries).
func (s DeliveryStatus) Final() bool { return s != DeliverySending }

// Delivery is one message a trigger rule decided on.
type Delivery struct {
	ID         string `json:"id"`
	ContactID  string `json:"contact_id"`
	Rule       string `json:"rule"`
	Template   string `json:"template"`
	Purpose    string `json:"purpose"`
	Occurrence string `json:"occurrence"` // the id of the event that started the rule
	// Events are the triggering events, oldest first (the start, then what
	// happened during the wait).
	Events []EventNotice `json:"events,omitempty"`
	// Status is what the workflow decided: sending, or capped/suppressed with a
	// Reason.
	Status DeliveryStatus `json:"status"`
	Reason string         `json:"reason,omitempty"`
	DueAt  time.Time      `json:"due_at"`
	// Segments, when the rule names any, are the RFM segments the contact must
	// be in when it is sent (checked with the consent).
	Segments []string `json:"segments,omitempty"`
}

// DeliveryID is the delivery of a rule for the occurrence (the starting event)
// at a contact: the same decision always has the same id, so a retried
// activity or a replayed workflow writes one row.
func DeliveryID(contactID, rule, occurrence string) string {
	sum := sha256.Sum256([]byte(contactID + "\x00" + rule + "\x00" + occurrence))
	return "dlv_" + hex.EncodeToString(sum[:12])
}

// DeliveryRecord is a delivery as stored, with what the message may carry.
type DeliveryRecord struct {
	Delivery
	ProviderMessageID string    `json:"provider_message_id,omitempty"`
	LastError         string    `json:"last_error,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	// To and Profile are filled when the delivery is to be sent: the address
	// and the contact's profile as stored. The message carries only the fields
	// its purpose allows (MessagingPolicy.PurposeFields; activities.Deliveries).
	To      string          `json:"-"`
	Profile map[Field]Value `json:"-"`
	// Segment is the contact's RFM segment, if computed.
	Segment string `json:"segment,omitempty"`
}

// DeliveryStore keeps deliveries.
type DeliveryStore interface {
	// BeginDelivery writes d once and returns it as stored. A new delivery to
	// send is checked at this moment, in the same transaction: the contact is
	// active, its address not suppressed, the purpose granted; if not, it is
	// stored suppressed with the reason. A delivery stored before is returned
	// as it is (a retried activity never sends what the ESP accepted).
	BeginDelivery(ctx context.Context, d Delivery) (DeliveryRecord, error)
	// CompleteDelivery marks a sending delivery accepted by the ESP.
	CompleteDelivery(ctx context.Context, id, providerMessageID string) error
	// FailDelivery marks a sending delivery failed (the dead letter).
	FailDelivery(ctx context.Context, id, reason string) error
	// RetryDelivery puts a failed delivery back to sending and returns it;
	// the audit log records the actor.
	RetryDelivery(ctx context.Context, id, actor string) (Delivery, error)
	// ListDeliveries returns the newest deliveries in a status (all when empty).
	ListDeliveries(ctx context.Context, status DeliveryStatus, limit int) ([]DeliveryRecord, error)
}

// SuppressionStore keeps the addresses no message may go to.
type SuppressionStore interface {
	// Suppress adds an address (once; a repeat changes nothing) with why.
	Suppress(ctx context.Context, email, reason string, src Source, ref string) error
}

// Message is what an ESP is asked to send.
type Message struct {
	DeliveryID string         `json:"delivery_id"`
	ContactID  string         `json:"contact_id"`
	Purpose    string         `json:"purpose"` // the consent purpose it is sent under (an unsubscribe withdraws it)
	To         string         `json:"to"`
	Template   string         `json:"template"`
	Data       map[string]any `json:"data"`
}

// ESP sends messages through an email service provider.
type ESP interface {
	// Send hands the message over and returns the provider's message id. A
	// refusal is an *APIError (429 and 5xx worth retrying, after RetryAfter
	// when the provider said); a network failure may be retried too.
	Send(ctx context.Context, m Message) (string, error)
}

// DeliveryOutcome is what became of a delivery.
type DeliveryOutcome struct {
	Status            DeliveryStatus `json:"status"`
	Reason            string         `json:"reason,omitempty"`
	ProviderMessageID string         `json:"provider_message_id,omitempty"`
}

// DeliveryReplayer takes a failed delivery out of the dead letter and sends it
// again (an admin action: actor is recorded in the audit log).
type DeliveryReplayer interface {
	ReplayDelivery(ctx context.Context, id, actor string) (DeliveryOutcome, error)
}
