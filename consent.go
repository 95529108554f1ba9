package kith

import (
	"context"
	"encoding/json"
	"time"
)

// ConsentStatus is the state of one consent purpose.
type ConsentStatus string

// Consent states. Pending is a granted double-opt-in consent waiting for its
// confirmation; Expired is one whose confirmation never came.
const (
	ConsentGranted   ConsentStatus = "granted"
	ConsentWithdrawn ConsentStatus = "withdrawn"
	ConsentPending   ConsentStatus = "pending"
	ConsentExpired   ConsentStatus = "expired"
)

// ConsentRecord is one entry of a contact's consent ledger.
type ConsentRecord struct {
	Purpose     string        `json:"purpose"`
	Status      ConsentStatus `json:"status"`
	TextVersion string        `json:"text_version"`
	Source      Source        `json:"source"`
	SourceRef   string        `json:"source_ref"` // submission id, confirmation token, request id
	IP          string        `json:"ip,omitempty"`
	UserAgent   string        `json:"user_agent,omitempty"`
	At          time.Time     `json:"at"`
}

// IdentityKind is a way a person is recognised.
type IdentityKind string

// Identity kinds.
const (
	IdentityEmail     IdentityKind = "email"
	IdentityPhone     IdentityKind = "phone"
	IdentityCRM       IdentityKind = "crm"
	IdentityAnonymous IdentityKind = "anonymous" // the tracker cookie id
	IdentityUser      IdentityKind = "user"      // a site's own user id (the events API's userId)
	IdentityRecord    IdentityKind = "record"    // a source record without an email (ContactInput.Key)
)

// Identity is one identifier of a contact.
type Identity struct {
	Kind      IdentityKind `json:"kind"`
	Namespace string       `json:"namespace,omitempty"` // CRM provider for kind crm
	Value     string       `json:"value"`
}

// Submission is one accepted form submission: standardized fields with their
// provenance, the consents it gave or withdrew, and the raw body as received.
type Submission struct {
	SubmissionID string          `json:"submission_id"`
	Form         string          `json:"form"`
	ContactID    string          `json:"contact_id"`
	AnonymousID  string          `json:"anonymous_id,omitempty"`
	Fields       map[Field]Value `json:"fields"`
	Consents     []ConsentRecord `json:"consents,omitempty"`
	Raw          json.RawMessage `json:"raw"`
	ReceivedAt   time.Time       `json:"received_at"`
}

// OutboxMessage is a message for a person (e.g. a double opt-in confirmation),
// written once per ID and delivered by the mail integration.
type OutboxMessage struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	ContactID string          `json:"contact_id"`
	Payload   json.RawMessage `json:"payload"`
}

// ProfileStore keeps what forms and the contact workflow write.
type ProfileStore interface {
	// ResolveContact returns the contact that owns the first of ids already known
	// (callers list the strongest first), creating an empty contact with newID when
	// none is, and links every id to it. An anonymous id linked to the contact has
	// its earlier events and submissions join the contact.
	ResolveContact(ctx context.Context, ids []Identity, newID string, src Source) (string, error)
	// ContactIDFor returns the contact that owns id, or an error with CodeNotFound.
	ContactIDFor(ctx context.Context, id Identity) (string, error)
	// LinkIdentity links id to the contact: an anonymous id moves to it (with its
	// earlier events and submissions); an email or phone another contact owns
	// stays there.
	LinkIdentity(ctx context.Context, contactID string, id Identity, src Source) error
	// RecordSubmission stores the raw submission, merges its fields into the
	// contact (Contact.Merge) and appends its consents, all once per SubmissionID,
	// and returns the contact as stored.
	RecordSubmission(ctx context.Context, s Submission) (Contact, error)
	// RecordConsent appends one consent record, once per (contact, purpose, SourceRef).
	RecordConsent(ctx context.Context, contactID string, c ConsentRecord) error
	// Consents returns the latest record per purpose.
	Consents(ctx context.Context, contactID string) (map[string]ConsentRecord, error)
	ContactReader
	// Enqueue writes an outbox message once per ID and returns the message stored
	// under that ID (the earlier one, when it was already there).
	Enqueue(ctx context.Context, m OutboxMessage) (OutboxMessage, error)
}
