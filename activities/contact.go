package activities

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"

	"github.com/kithhq/kith"
)

// Contacts persists what the ContactLifecycle workflow decides. Every method is
// idempotent: a retry or a replayed workflow writes nothing twice.
type Contacts struct {
	Store kith.ProfileStore
	// Notifier tells contacts' workflows about changes (workflows.ContactService,
	// which owns their wire names).
	Notifier kith.ContactNotifier
	// PublicURL is where people reach Kith's HTTP API (confirmation links).
	PublicURL string
}

// RecordSubmission stores an accepted form submission and returns the contact as
// stored after merging it.
func (a *Contacts) RecordSubmission(ctx context.Context, s kith.Submission) (kith.Contact, error) {
	return a.Store.RecordSubmission(ctx, s)
}

// ConsentInput is one consent change of a contact.
type ConsentInput struct {
	ContactID string             `json:"contact_id"`
	Record    kith.ConsentRecord `json:"record"`
}

// RecordConsent appends a consent change to the contact's ledger.
func (a *Contacts) RecordConsent(ctx context.Context, in ConsentInput) error {
	return a.Store.RecordConsent(ctx, in.ContactID, in.Record)
}

// ConfirmationInput asks for a double opt-in confirmation of one purpose.
type ConfirmationInput struct {
	ContactID string `json:"contact_id"`
	Purpose   string `json:"purpose"`
	// Ref identifies the consent being confirmed (its submission id): one message
	// per consent, however often the activity is retried.
	Ref string `json:"ref"`
}

// Confirmation is the message queued for the person.
type Confirmation struct {
	Token string `json:"token"`
	Link  string `json:"link"`
}

// SendConfirmation queues the confirmation message (with a link carrying a fresh
// random token) in the outbox and returns the token the workflow waits for. A retry
// after the message was queued returns the token already sent.
func (a *Contacts) SendConfirmation(ctx context.Context, in ConfirmationInput) (Confirmation, error) {
	token := rand.Text()
	link := a.PublicURL + "/v1/confirm?" + url.Values{"contact": {in.ContactID}, "purpose": {in.Purpose}, "token": {token}}.Encode()
	c := Confirmation{Token: token, Link: link}
	payload, err := json.Marshal(map[string]string{"purpose": in.Purpose, "token": token, "link": link})
	if err != nil {
		return c, err
	}
	msg := kith.OutboxMessage{ID: "double_opt_in/" + in.ContactID + "/" + in.Purpose + "/" + in.Ref, Kind: "double_opt_in", ContactID: in.ContactID, Payload: payload}
	stored, err := a.Store.Enqueue(ctx, msg)
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(stored.Payload, &c)
	return c, err
}

// LoadContact returns the contact as stored.
func (a *Contacts) LoadContact(ctx context.Context, contactID string) (kith.Contact, error) {
	return a.Store.Contact(ctx, contactID)
}

// NotifyContact tells the contact's workflow that its stored profile changed,
// starting the workflow if it has none.
func (a *Contacts) NotifyContact(ctx context.Context, ch kith.ProfileChange) error {
	return a.Notifier.NotifyContact(ctx, ch)
}
