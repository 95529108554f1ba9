package kith

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Event is one behavioural event (page view, click, email open, purchase …).
// Events are append-only; EventID is chosen by the sender (for the events API,
// "<source>/<messageId>"), so a redelivered event is recognised and stored once.
type Event struct {
	EventID     string          `json:"event_id"`
	ContactID   string          `json:"contact_id,omitempty"`
	AnonymousID string          `json:"anonymous_id,omitempty"`
	Type        string          `json:"type"` // a track call's event name; page, screen, identify, group, alias
	Source      Source          `json:"source"`
	OccurredAt  time.Time       `json:"occurred_at"`
	Properties  json.RawMessage `json:"properties,omitempty"`

	// What the events API keeps of a Segment-spec message.
	Call        string          `json:"call,omitempty"`         // track, page, screen, identify, group, alias
	WriteSource string          `json:"write_source,omitempty"` // the write key's source
	MessageID   string          `json:"message_id,omitempty"`
	UserID      string          `json:"user_id,omitempty"`
	Context     json.RawMessage `json:"context,omitempty"`
	Traits      json.RawMessage `json:"traits,omitempty"`
	SentAt      time.Time       `json:"sent_at,omitzero"`
	ReceivedAt  time.Time       `json:"received_at,omitzero"`
	Machine     bool            `json:"machine,omitempty"` // a privacy proxy's open, a link scanner's click
}

// EventLog appends behavioural events durably.
type EventLog interface {
	// AppendEvents stores events in one transaction, ignoring any whose EventID is
	// stored already, and queues those relay marks (same index) for their
	// contact's workflow in the same transaction. It answers, per event, whether
	// it was new; an error with CodeBusy when it cannot take more now.
	AppendEvents(ctx context.Context, events []Event, relay []bool) ([]bool, error)
}

// Quarantine is the one way refused input is kept: the payload byte for byte,
// its violations, and a Ref of path parts joined by "/" that names where it came
// from (form/submission id; provider/contact/id/changed-at; file/row;
// contact/changed-at). An empty last part is replaced by the payload's SHA-256,
// so the same refused bytes are kept once.
func Quarantine(src Source, payload []byte, vs Violations, ref ...string) Quarantined {
	if len(ref) == 0 || ref[len(ref)-1] == "" {
		sum := sha256.Sum256(payload)
		ref = append(ref[:max(len(ref)-1, 0)], "sha256:"+hex.EncodeToString(sum[:]))
	}
	return Quarantined{Source: src, Ref: strings.Join(ref, "/"), Payload: payload, Violations: vs}
}

// Quarantined is input that could not be accepted, kept whole with its reasons so
// nothing is lost and it can be fixed and replayed.
type Quarantined struct {
	Source Source `json:"source"`
	// Client is the anonymous caller that sent it (ip:<address>), whose
	// quarantine is capped per hour; empty for authenticated paths.
	Client     string     `json:"client,omitempty"`
	Ref        string     `json:"ref"`     // unique per source: a redelivery is stored once
	Payload    []byte     `json:"payload"` // the input byte for byte, even when it is not text
	Violations Violations `json:"violations"`
}

// RetentionStore deletes what is kept only for a while.
type RetentionStore interface {
	// DeleteEventsBefore deletes up to limit events that occurred before t
	// and returns how many it deleted.
	DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int64, error)
	// DeleteQuarantineBudgetsBefore deletes anonymous callers' quarantine
	// budgets for hours before t.
	DeleteQuarantineBudgetsBefore(ctx context.Context, t time.Time) (int64, error)
}
