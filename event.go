package kith

import (
	"encoding/json"
	"time"
)

// Event is one behavioural event (page view, click, email open, purchase …).
// Events are append-only; EventID is chosen by the sender, so a redelivered event
// is recognised and stored once.
type Event struct {
	EventID     string          `json:"event_id"`
	ContactID   string          `json:"contact_id,omitempty"`
	AnonymousID string          `json:"anonymous_id,omitempty"`
	Type        string          `json:"type"`
	Source      Source          `json:"source"`
	OccurredAt  time.Time       `json:"occurred_at"`
	Properties  json.RawMessage `json:"properties,omitempty"`
}

// Quarantined is input that could not be accepted, kept whole with its reasons so
// nothing is lost and it can be fixed and replayed.
type Quarantined struct {
	Source     Source     `json:"source"`
	Ref        string     `json:"ref"`     // unique per source: a redelivery is stored once
	Payload    []byte     `json:"payload"` // the input byte for byte, even when it is not text
	Violations Violations `json:"violations"`
}
