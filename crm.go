package kith

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// APIError is an outside service's refusal (a CRM's, an ESP's), classified for
// retries: 429 and 5xx are worth retrying (after RetryAfter when the service
// said), 404 means the object is gone, 401 and 403 mean the credentials are
// wrong and retrying cannot help.
type APIError struct {
	Service    string // "CRM", "ESP"
	Status     int
	RetryAfter time.Duration
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s answered %d %s: %s", e.Service, e.Status, http.StatusText(e.Status), e.Message)
}

// Retryable reports whether the request may succeed later.
func (e *APIError) Retryable() bool { return e.Status == http.StatusTooManyRequests || e.Status >= 500 }

// NewAPIError reads a refusal: the status, a short message from the body, and
// how long the service asked to wait (Retry-After in seconds or as a date, or
// SendGrid's X-RateLimit-Reset epoch).
func NewAPIError(service string, resp *http.Response, message string, now time.Time) *APIError {
	e := &APIError{Service: service, Status: resp.StatusCode, Message: message}
	ra := resp.Header.Get("Retry-After")
	if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(ra); err == nil && t.After(now) {
		e.RetryAfter = t.Sub(now)
	} else if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil && time.Unix(s, 0).After(now) {
		e.RetryAfter = time.Unix(s, 0).Sub(now)
	}
	return e
}

// CRM object types Kith syncs.
const (
	CRMContact = "contact"
	CRMDeal    = "deal"   // a purchase: stored as an order
	CRMTicket  = "ticket" // a support ticket
)

// CRMObject is one object read from a CRM: a contact (Fields), a deal (Order) or a
// ticket (Ticket), with the CRM ids of its associated contacts.
type CRMObject struct {
	Provider  string           `json:"provider"`
	Type      string           `json:"type"`
	ID        string           `json:"id"`
	UpdatedAt time.Time        `json:"updated_at"`
	Fields    map[Field]string `json:"fields,omitempty"` // raw contact properties mapped to Kith fields
	Order     *Order           `json:"order,omitempty"`
	Ticket    *Ticket          `json:"ticket,omitempty"`
	Contacts  []string         `json:"contacts,omitempty"` // associated contacts' CRM ids
}

// Order is a purchase (a CRM deal).
type Order struct {
	ExternalID  string    `json:"external_id"`
	AmountCents int64     `json:"amount_cents"`
	Currency    string    `json:"currency"`
	Status      string    `json:"status"`
	OrderedAt   time.Time `json:"ordered_at,omitzero"`
}

// Ticket is a support ticket.
type Ticket struct {
	ExternalID string    `json:"external_id"`
	Subject    string    `json:"subject"`
	Status     string    `json:"status"`
	OpenedAt   time.Time `json:"opened_at,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
}

// CRMPage is one page of contacts changed since a time.
type CRMPage struct {
	Objects []CRMObject `json:"objects"`
	Next    string      `json:"next,omitempty"` // paging token; empty on the last page
}

// CRM reads objects from one CRM account.
type CRM interface {
	// Object fetches one object. Errors carry the CRM's answer (see package crm).
	Object(ctx context.Context, objectType, id string) (CRMObject, error)
	// ContactsModifiedSince pages through contacts modified at or after since, oldest
	// first; after is the paging token of the previous page ("" for the first).
	ContactsModifiedSince(ctx context.Context, since time.Time, after string, limit int) (CRMPage, error)
}

// CRMCursor is how far a CRM backfill has got: the query (Since) and the position
// in it (After). It is committed with the page it follows.
type CRMCursor struct {
	Since time.Time `json:"since"`
	After string    `json:"after,omitempty"`
	// MaxSeen is the latest modification time stored so far: the next query's Since.
	MaxSeen time.Time `json:"max_seen"`
	// Totals counts what every backfill so far stored, committed with each page.
	Totals CRMTotals `json:"totals"`
}

// CRMTotals counts the pages, contacts and quarantined values backfills stored.
type CRMTotals struct {
	Pages       int `json:"pages"`
	Contacts    int `json:"contacts"`
	Quarantined int `json:"quarantined"`
}

// Minus is the difference between two counts.
func (t CRMTotals) Minus(o CRMTotals) CRMTotals {
	return CRMTotals{t.Pages - o.Pages, t.Contacts - o.Contacts, t.Quarantined - o.Quarantined}
}

// CRMStore keeps what CRM syncs write, and quarantines what they refuse.
type CRMStore interface {
	EventStore
	EventLog
	// StoreCRMObject standardizes nothing: callers pass contacts already through
	// quality. It upserts the object (contact by its CRM identity, then email;
	// order or ticket by provider and external id) and returns the Kith contact ids
	// it touched. Idempotent.
	StoreCRMObject(ctx context.Context, obj CRMObject, contact ContactInput) ([]string, error)
	// CRMCursor returns the backfill cursor of provider (zero when none).
	CRMCursor(ctx context.Context, provider string) (CRMCursor, error)
	// CommitCRMPage upserts a page of contacts and advances the cursor in one
	// transaction, refusing (CodeConflict) when the stored cursor is not from.
	CommitCRMPage(ctx context.Context, provider string, from, to CRMCursor, contacts []ContactInput, crmIDs []string, quarantine []Quarantined) error
}

// Events are the behavioural events a stored CRM object means for its contacts
// (ids as stored): a won deal is an Order Completed, a closed ticket a Ticket
// Closed. Their ids are the object's, so a resync stores nothing twice; they
// reach the contacts' workflows (trigger rules) like the events API's.
func (o CRMObject) Events(contactIDs []string) []Event {
	var typ, id string
	var at time.Time
	var props map[string]any
	switch {
	case o.Order != nil && o.Order.Status == "closedwon":
		typ, id, at = "Order Completed", "crm/"+o.Provider+"/deal/"+o.ID+"/won", o.Order.OrderedAt
		props = map[string]any{"order_id": o.ID, "total": float64(o.Order.AmountCents) / 100, "currency": o.Order.Currency}
	case o.Ticket != nil && !o.Ticket.ClosedAt.IsZero():
		typ, id, at = "Ticket Closed", "crm/"+o.Provider+"/ticket/"+o.ID+"/closed", o.Ticket.ClosedAt
		props = map[string]any{"ticket_id": o.ID, "status": o.Ticket.Status}
	default:
		return nil
	}
	if at.IsZero() {
		at = o.UpdatedAt
	}
	p, _ := json.Marshal(props)
	var out []Event
	for _, c := range contactIDs {
		out = append(out, Event{EventID: id + "/" + c, ContactID: c, Type: typ, Source: SourceCRM, OccurredAt: at,
			Properties: p, Call: "track", WriteSource: o.Provider})
	}
	return out
}
