package kith

import (
	"context"
	"encoding/json"
	"time"
)

// SubmitRequest is a form submission the HTTP API accepted, for the contact's
// workflow to apply.
type SubmitRequest struct {
	Submission Submission `json:"submission"`
	// Region is the default region the values were standardized with (the
	// server's KITH_DEFAULT_REGION); the workflow's validator reads them the same
	// way (quality.Options.ForContact).
	Region string `json:"region,omitempty"`
	// DoubleOptIn lists the purposes that need a confirmation before they count.
	DoubleOptIn []string `json:"double_opt_in,omitempty"`
}

// ConsentChange grants or withdraws one purpose outside a form.
type ConsentChange struct {
	Record ConsentRecord `json:"record"`
}

// OptInConfirmation is a person opening the link of a double opt-in message.
type OptInConfirmation struct {
	Purpose   string    `json:"purpose"`
	Token     string    `json:"token"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	At        time.Time `json:"at"`
}

// ContactView is what the API may show of a contact: its fields, its consents,
// its completeness and lifecycle stage. It holds no secret (no opt-in tokens).
type ContactView struct {
	ContactID    string                   `json:"contact_id"`
	Fields       map[Field]Value          `json:"fields"`
	Consents     map[string]ConsentRecord `json:"consents"`
	Completeness int                      `json:"completeness"`
	Stage        string                   `json:"stage"`
}

// CRMSyncEvent is one CRM webhook event to sync.
type CRMSyncEvent struct {
	Provider   string    `json:"provider"`
	EventID    int64     `json:"event_id"`
	Type       string    `json:"type"` // CRMContact, CRMDeal, CRMTicket
	ObjectID   string    `json:"object_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// Claim is a submission that names an existing contact (by its email) from a
// browser that contact has not verified: it changes nothing until the person
// opens the link Kith sends to the address on file, in the same browser.
type Claim struct {
	ContactID string        `json:"contact_id"`
	Request   SubmitRequest `json:"request"`
	// Browser is the keyed hash of the claiming browser's cookie; the link
	// applies the claim only where that cookie is sent again.
	Browser string    `json:"browser"`
	At      time.Time `json:"at"`
}

// ContactService is what the HTTP API asks of contacts. Errors carry a Code:
// CodeInvalid (with violations) for input the rules refuse, CodeNotFound for an
// unknown contact or link, CodeBusy when the contact has too much in flight, and
// CodeUnavailable when the request could not complete now (retry with the same
// ids: every call is idempotent).
type ContactService interface {
	// Lookup returns the contact that owns id, or an error with CodeNotFound.
	Lookup(ctx context.Context, id Identity) (string, error)
	// Resolve returns the contact that owns the first of ids already known,
	// creating one when none is, and links every id to it; created says whether
	// the contact is new.
	Resolve(ctx context.Context, ids []Identity, src Source) (id string, created bool, err error)
	// Link links id to a contact whose identity the caller verified (a signed
	// link, a verified claim).
	Link(ctx context.Context, contactID string, id Identity, src Source) error
	// Submit applies a submission to its contact, once per submission id, and
	// returns the contact after it.
	Submit(ctx context.Context, req SubmitRequest) (ContactView, error)
	// ChangeConsent grants or withdraws one purpose, once per SourceRef.
	ChangeConsent(ctx context.Context, contactID string, ch ConsentChange) (ContactView, error)
	// Confirm delivers a double opt-in confirmation; CodeNotFound when the contact
	// has no opt-in pending with that token.
	Confirm(ctx context.Context, contactID string, c OptInConfirmation) error
	// State returns the contact, or an error with CodeNotFound.
	State(ctx context.Context, contactID string) (ContactView, error)
	// Claim holds a submission for an existing contact until it is verified, and
	// sends the verification link to the contact's address on file.
	Claim(ctx context.Context, c Claim) error
	// VerifyClaim applies the claim whose link token this is, when browser (the
	// keyed hash of the cookie sent with the link) is the one that made it, and
	// links the claim's anonymous id to the contact. CodeNotFound otherwise.
	VerifyClaim(ctx context.Context, token, browser string) (ContactView, error)
}

// ProfileChange tells a contact's workflow that another source (a CRM sync)
// changed its stored profile.
type ProfileChange struct {
	ContactID string `json:"contact_id"`
	Source    Source `json:"source"`
	Ref       string `json:"ref"`
}

// EventNotice tells a contact's workflow about one behavioural event.
type EventNotice struct {
	EventID string    `json:"event_id"`
	Type    string    `json:"type"`
	At      time.Time `json:"at"`
	// Properties are the event's (trigger rules test them; a message shows
	// them); TimeZone is the IANA zone the sender's browser reported, if any.
	Properties json.RawMessage `json:"properties,omitempty"`
	TimeZone   string          `json:"time_zone,omitempty"`
}

// ContactNotifier tells contacts' workflows about changes made outside them,
// starting a contact's workflow when it has none yet.
type ContactNotifier interface {
	// NotifyContact tells the contact's workflow to reload its profile.
	NotifyContact(ctx context.Context, ch ProfileChange) error
	// NotifyEvent tells the contact's workflow about an event; the workflow
	// ignores an event id it has seen, so a repeat is harmless.
	NotifyEvent(ctx context.Context, contactID string, e EventNotice) error
	// NotifyRunning tells the contact's workflow about an event only if it is
	// running (a contact without one has nothing to change).
	NotifyRunning(ctx context.Context, contactID string, e EventNotice) error
	// NotifyMerged tells the workflow of contactID (the survivor or the merged
	// contact) about a merge made on write.
	NotifyMerged(ctx context.Context, contactID string, n MergeNotice) error
}

// RelayedEvent is an event waiting in the outbox for its contact's workflow.
type RelayedEvent struct {
	ID        int64 // the outbox row
	ContactID string
	Notice    EventNotice
}

// EventRelayStore is the event outbox the EventRelay drains.
type EventRelayStore interface {
	// PendingEvents returns up to limit queued events, oldest first, each with
	// its contact as known now (an event whose visitor is still anonymous has
	// none).
	PendingEvents(ctx context.Context, limit int) ([]RelayedEvent, error)
	// RelayedEvents removes the outbox rows of events that were signalled (or
	// have no contact to tell).
	RelayedEvents(ctx context.Context, ids []int64) error
}

// CRMSyncs starts CRM syncs.
type CRMSyncs interface {
	// StartCRMSync starts the sync of one webhook event once: it returns when the
	// start is durable, and nil when the event was started before.
	StartCRMSync(ctx context.Context, e CRMSyncEvent) error
}

// ClaimStore keeps pending claims.
type ClaimStore interface {
	// HoldClaim stores a claim under the hash of its link token and queues msg
	// (the link, for the contact's address on file) in one transaction, once per
	// submission id, unless the contact already has limit claims from the last
	// day; it reports whether the claim was stored.
	HoldClaim(ctx context.Context, c Claim, tokenHash string, expires time.Time, limit int, msg OutboxMessage) (bool, error)
	// TakeClaim marks the claim with this token hash applied and returns it, when
	// it exists, has not expired, was made by browser and was not applied before;
	// otherwise an error with CodeNotFound. A claim applied before is returned
	// again to the browser that made it (opening the link twice is harmless).
	TakeClaim(ctx context.Context, tokenHash, browser string, now time.Time) (Claim, error)
}
