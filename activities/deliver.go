package activities

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/personalize"
)

// ESP failure types, for the workflow's retry policy and the dead letter.
const (
	ErrESPUnavailable = "ESPUnavailable" // 429, 5xx, network: retried, after Retry-After when given
	ErrESPRefused     = "ESPRefused"     // any other refusal: retrying cannot help
)

// Deliveries sends the messages trigger rules decide on.
type Deliveries struct {
	Store kith.DeliveryStore
	ESP   kith.ESP
	// PurposeFields are the profile fields a message under each purpose may
	// carry (schemas/messaging.json); nothing else leaves Kith.
	PurposeFields map[string][]kith.Field
	// Recommendations are the stored item-to-item recommendations (nil: none).
	Recommendations interface {
		Recommender(ctx context.Context, products []string, country string) (*personalize.Recommender, error)
	}
	// Form is the progressive-profiling form: a message names the fields it
	// would ask next (a profile-completion nudge links to them).
	Form *kith.Form
	// Links signs the unsubscribe and profile links the message carries, on the
	// API at PublicURL.
	Links     kith.Signer
	PublicURL string
	Now       func() time.Time
}

// DeliverResult is what became of a delivery.
type DeliverResult = kith.DeliveryOutcome

// Deliver records the delivery, checks consent at this moment (in the same
// transaction), and sends it. It runs as a local activity in the contact's
// workflow task. Exactly once where it can be: the row is written before the
// call and completed after, so a retry never sends what the ESP accepted and
// the row shows. At least once where it cannot: a crash, or a lost answer,
// between the ESP's acceptance and the row's completion sends again on the
// retry, because SendGrid's Mail Send takes no idempotency key.
func (a *Deliveries) Deliver(ctx context.Context, d kith.Delivery) (DeliverResult, error) {
	rec, err := a.Store.BeginDelivery(ctx, d)
	if err != nil {
		return DeliverResult{}, err
	}
	if rec.Status != kith.DeliverySending {
		return DeliverResult{Status: rec.Status, Reason: rec.Reason, ProviderMessageID: rec.ProviderMessageID}, nil
	}
	msg, err := a.message(ctx, rec)
	if err != nil {
		return DeliverResult{}, err
	}
	id, err := a.ESP.Send(ctx, msg)
	if err != nil {
		return DeliverResult{}, espFailure(err)
	}
	if err := a.Store.CompleteDelivery(ctx, rec.ID, id); err != nil {
		return DeliverResult{}, err
	}
	return DeliverResult{Status: kith.DeliveryAccepted, ProviderMessageID: id}, nil
}

// FailDelivery puts a delivery whose retries ran out in the dead letter, with
// the last error, for ops to replay (`starter deliveries retry`).
func (a *Deliveries) FailDelivery(ctx context.Context, id, reason string) error {
	return a.Store.FailDelivery(ctx, id, reason)
}

// message is the ESP's message: the address, the template and its data — only
// the profile fields the purpose allows, the triggering events, the segment, and
// signed unsubscribe and profile links.
func (a *Deliveries) message(ctx context.Context, rec kith.DeliveryRecord) (kith.Message, error) {
	fields := map[string]string{}
	for _, f := range a.PurposeFields[rec.Purpose] { // nothing else leaves Kith
		if v := rec.Profile[f]; v.Value != "" {
			fields[string(f)] = v.Value
		}
	}
	var next []string // what the progressive-profiling form would ask next
	if a.Form != nil {
		for _, s := range a.Form.Next(rec.Profile, nil).Steps {
			for _, f := range s.Fields {
				next = append(next, string(f.Field))
			}
		}
	}
	type event struct {
		Type       string          `json:"type"`
		At         time.Time       `json:"at"`
		Properties json.RawMessage `json:"properties,omitempty"`
	}
	events := make([]event, 0, len(rec.Events))
	var products []string
	for _, e := range rec.Events {
		events = append(events, event{Type: e.Type, At: e.At, Properties: e.Properties})
		products = append(products, personalize.Products(e.Type, e.Properties)...)
	}
	recommended := []string{}
	if a.Recommendations != nil {
		country := rec.Profile[kith.FieldCountry].Value
		r, err := a.Recommendations.Recommender(ctx, products, country)
		if err != nil {
			return kith.Message{}, err
		}
		recommended = r.Recommend(products, country, 4)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	expires := now().Add(90 * 24 * time.Hour)
	unsubscribe, err := a.Links.URL(a.PublicURL, kith.Link{Kind: kith.LinkUnsubscribe, ContactID: rec.ContactID, Purpose: rec.Purpose, Delivery: rec.ID, Expires: expires})
	if err != nil {
		return kith.Message{}, err
	}
	profile, err := a.Links.URL(a.PublicURL, kith.Link{Kind: kith.LinkProfile, ContactID: rec.ContactID, Delivery: rec.ID, Expires: expires})
	if err != nil {
		return kith.Message{}, err
	}
	return kith.Message{
		DeliveryID: rec.ID, ContactID: rec.ContactID, Purpose: rec.Purpose, To: rec.To, Template: rec.Template,
		Data: map[string]any{
			"contact": fields, "events": events, "segment": rec.Segment, "rule": rec.Rule, "next_fields": next,
			"recommendations": recommended,
			"unsubscribe_url": unsubscribe, "profile_url": profile,
		},
	}, nil
}

// espFailure classifies an ESP error for Temporal's retries.
func espFailure(err error) error {
	var ae *kith.APIError
	switch {
	case !errors.As(err, &ae) || ae.Retryable():
		opts := temporal.ApplicationErrorOptions{}
		if ae != nil {
			opts.NextRetryDelay = ae.RetryAfter
		}
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrESPUnavailable, opts)
	}
	return temporal.NewNonRetryableApplicationError(ae.Error(), ErrESPRefused, nil)
}
