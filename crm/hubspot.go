package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kithhq/kith"
)

// HubSpot is a client of HubSpot's CRM v3 objects API (or of a server that speaks
// it, such as crmsim). It implements kith.CRM.
type HubSpot struct {
	BaseURL string // https://api.hubapi.com
	Token   string // private app access token; never logged
	HTTP    *http.Client
}

// The HubSpot properties Kith reads, and the Kith field each one fills.
var contactProperties = map[string]kith.Field{
	"email": kith.FieldEmail, "firstname": kith.FieldFirstName, "lastname": kith.FieldLastName,
	"phone": kith.FieldPhone, "date_of_birth": kith.FieldBirthDate, "country": kith.FieldCountry,
	"city": kith.FieldCity, "zip": kith.FieldPostalCode, "address": kith.FieldAddress,
}

var objectPaths = map[string]struct{ path, properties string }{
	kith.CRMContact: {"contacts", "email,firstname,lastname,phone,date_of_birth,country,city,zip,address,lastmodifieddate"},
	kith.CRMDeal:    {"deals", "amount,deal_currency_code,dealstage,closedate,hs_lastmodifieddate"},
	kith.CRMTicket:  {"tickets", "subject,hs_pipeline_stage,createdate,closed_date,hs_lastmodifieddate"},
}

// hsObject is a CRM v3 object as HubSpot sends it.
type hsObject struct {
	ID           string            `json:"id"`
	Properties   map[string]string `json:"properties"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	Associations map[string]struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	} `json:"associations"`
}

// Object implements kith.CRM.
func (h *HubSpot) Object(ctx context.Context, objectType, id string) (kith.CRMObject, error) {
	p, ok := objectPaths[objectType]
	if !ok {
		return kith.CRMObject{}, fmt.Errorf("unknown CRM object type %q", objectType)
	}
	q := url.Values{"properties": {p.properties}}
	if objectType != kith.CRMContact {
		q.Set("associations", "contacts")
	}
	var o hsObject
	if err := h.do(ctx, "GET", "/crm/v3/objects/"+p.path+"/"+url.PathEscape(id)+"?"+q.Encode(), nil, &o); err != nil {
		return kith.CRMObject{}, err
	}
	return convert(objectType, o), nil
}

// ContactsModifiedSince implements kith.CRM with the search endpoint, sorted by
// last modification.
func (h *HubSpot) ContactsModifiedSince(ctx context.Context, since time.Time, after string, limit int) (kith.CRMPage, error) {
	req := map[string]any{
		"filterGroups": []any{map[string]any{"filters": []any{map[string]any{
			"propertyName": "lastmodifieddate", "operator": "GTE", "value": strconv.FormatInt(since.UnixMilli(), 10),
		}}}},
		"sorts":      []any{map[string]any{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}},
		"properties": strings.Split(objectPaths[kith.CRMContact].properties, ","),
		"limit":      limit,
	}
	if after != "" {
		req["after"] = after
	}
	var res struct {
		Results []hsObject `json:"results"`
		Paging  struct {
			Next struct {
				After string `json:"after"`
			} `json:"next"`
		} `json:"paging"`
	}
	if err := h.do(ctx, "POST", "/crm/v3/objects/contacts/search", req, &res); err != nil {
		return kith.CRMPage{}, err
	}
	page := kith.CRMPage{Next: res.Paging.Next.After}
	for _, o := range res.Results {
		page.Objects = append(page.Objects, convert(kith.CRMContact, o))
	}
	return page, nil
}

func convert(objectType string, o hsObject) kith.CRMObject {
	out := kith.CRMObject{Provider: "hubspot", Type: objectType, ID: o.ID, UpdatedAt: o.UpdatedAt}
	for _, a := range o.Associations["contacts"].Results {
		out.Contacts = append(out.Contacts, a.ID)
	}
	p := o.Properties
	switch objectType {
	case kith.CRMContact:
		out.Fields = map[kith.Field]string{}
		for prop, f := range contactProperties {
			if v := strings.TrimSpace(p[prop]); v != "" {
				out.Fields[f] = v
			}
		}
	case kith.CRMDeal:
		out.Order = &kith.Order{ExternalID: o.ID, Currency: strings.ToUpper(p["deal_currency_code"]), Status: p["dealstage"],
			OrderedAt: parseTime(p["closedate"])}
		if amt, err := strconv.ParseFloat(p["amount"], 64); err == nil {
			out.Order.AmountCents = int64(math.Round(amt * 100))
		}
	case kith.CRMTicket:
		out.Ticket = &kith.Ticket{ExternalID: o.ID, Subject: p["subject"], Status: p["hs_pipeline_stage"],
			OpenedAt: parseTime(p["createdate"]), ClosedAt: parseTime(p["closed_date"])}
	}
	return out
}

func parseTime(s string) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC()
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

// do sends one request and decodes the JSON answer, turning refusals into *APIError.
func (h *HubSpot) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(h.BaseURL, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := h.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err // a network failure: the caller retries
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode >= 300 {
		return kith.NewAPIError("CRM", resp, apiMessage(b), time.Now())
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("CRM answer is not the expected JSON: %w", err)
	}
	return nil
}

// apiMessage is HubSpot's error message, short.
func apiMessage(b []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		return e.Message
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// WebhookEvent is one event of a HubSpot webhook delivery (deliveries are
// batches: a JSON array).
type WebhookEvent struct {
	EventID          int64  `json:"eventId"`
	SubscriptionType string `json:"subscriptionType"` // contact.creation, deal.propertyChange, …
	ObjectID         int64  `json:"objectId"`
	OccurredAt       int64  `json:"occurredAt"` // Unix ms
	PortalID         int64  `json:"portalId"`
	AttemptNumber    int    `json:"attemptNumber"`
}

// ObjectType is the Kith object type the event is about, or "" for one Kith
// does not sync.
func (e WebhookEvent) ObjectType() string {
	switch strings.SplitN(e.SubscriptionType, ".", 2)[0] {
	case "contact":
		return kith.CRMContact
	case "deal":
		return kith.CRMDeal
	case "ticket":
		return kith.CRMTicket
	}
	return ""
}
