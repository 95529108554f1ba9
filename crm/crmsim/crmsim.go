// Package crmsim is a CRM simulator: it serves the subset of HubSpot's CRM v3 API
// that Kith calls (objects by id with their contact associations, contact search
// by last modification), with generated, realistic data; it sends signed webhooks
// the way HubSpot does; and it injects faults (429 with Retry-After, 5xx, slow
// answers, bad signatures). It is a test and demo double, not HubSpot: `starter
// crm-sim` runs it.
package crmsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kithhq/kith/crm"
)

// Object is one simulated CRM object.
type Object struct {
	ID         string
	Properties map[string]string
	UpdatedAt  time.Time
	Contacts   []string // associated contact ids (deals, tickets)
}

// Sim is the simulated CRM. Its methods are safe for concurrent use.
type Sim struct {
	Token  string // the bearer token it accepts
	Secret string // the app secret it signs webhooks with

	mu       sync.Mutex
	objects  map[string]map[string]*Object // type path (contacts, deals, tickets) → id → object
	faults   []fault
	delay    time.Duration
	requests map[string]int // "METHOD path" → count
	nextID   int64
}

type fault struct {
	status     int
	retryAfter int
}

// New returns a simulator with contacts generated from seed, one deal and one
// ticket for every tenth contact.
func New(token, secret string, contacts int, seed uint64) *Sim {
	s := &Sim{Token: token, Secret: secret, requests: map[string]int{}, nextID: 1000,
		objects: map[string]map[string]*Object{"contacts": {}, "deals": {}, "tickets": {}}}
	r := rand.New(rand.NewPCG(seed, seed^0x6b697468))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range contacts {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		at := base.Add(time.Duration(i) * time.Minute)
		email := fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(first), strings.ToLower(last), i)
		phone := fmt.Sprintf("+47 %s%d %02d %03d", mobilePrefixes[r.IntN(len(mobilePrefixes))], r.IntN(10), r.IntN(100), r.IntN(1000))
		switch {
		case i%7 == 3: // people type as they like; the CRM keeps it
			email = " " + strings.ToUpper(email[:1]) + email[1:]
			phone = strings.ReplaceAll(strings.TrimPrefix(phone, "+47 "), " ", "")
		case i%50 == 25: // and some of it is wrong
			phone = "+47 12"
		}
		c := s.AddContact(map[string]string{
			"email":         email,
			"firstname":     first,
			"lastname":      last,
			"phone":         phone,
			"date_of_birth": base.AddDate(-20-r.IntN(50), 0, -r.IntN(365)).Format(time.DateOnly),
			"country":       "NO",
			"city":          cities[r.IntN(len(cities))],
			"address":       fmt.Sprintf("%s %d", streets[i%len(streets)], 1+i%97),
		}, at)
		if i%10 == 0 {
			s.Add("deals", map[string]string{"amount": fmt.Sprintf("%d.%02d", 20+r.IntN(400), r.IntN(100)),
				"deal_currency_code": "nok", "dealstage": "closedwon", "closedate": at.Format(time.RFC3339)}, at, c.ID)
			s.Add("tickets", map[string]string{"subject": "Where is my order?", "hs_pipeline_stage": "closed",
				"createdate": at.Format(time.RFC3339), "closed_date": at.Add(time.Hour).Format(time.RFC3339)}, at, c.ID)
		}
	}
	return s
}

var (
	mobilePrefixes = []string{"40", "41", "45", "46", "47", "48", "90", "91", "92", "93", "94", "95", "97", "98", "99"}
	firstNames     = []string{"Ada", "Grace", "Linus", "Margaret", "Alan", "Katherine", "Edsger", "Barbara", "Ken", "Frances", "Ole", "Ingrid", "Kari", "Nils"}
	lastNames      = []string{"Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Johnson", "Dijkstra", "Liskov", "Thompson", "Allen", "Hansen", "Berg", "Nordmann", "Dahl"}
	cities         = []string{"Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø"}
	streets        = []string{"Storgata", "Kongens gate", "Dronningens gate", "Strandveien", "Kirkegata", "Parkveien", "Skolegata"}
)

// AddContact adds a contact modified at at and returns it.
func (s *Sim) AddContact(props map[string]string, at time.Time) *Object {
	return s.Add("contacts", props, at)
}

// Add adds an object of the given type path (contacts, deals, tickets).
func (s *Sim) Add(typ string, props map[string]string, at time.Time, contacts ...string) *Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	o := &Object{ID: strconv.FormatInt(s.nextID, 10), Properties: props, UpdatedAt: at, Contacts: contacts}
	o.Properties["lastmodifieddate"] = at.Format(time.RFC3339Nano)
	s.objects[typ][o.ID] = o
	return o
}

// Objects returns the ids of every object of a type path, in id order.
func (s *Sim) Objects(typ string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.objects[typ]))
	for id := range s.objects[typ] {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	return ids
}

// Fail makes the next n API requests answer status, with Retry-After seconds
// when retryAfter ≥ 0.
func (s *Sim) Fail(status, n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status, retryAfter})
	}
}

// Slow delays every API answer by d.
func (s *Sim) Slow(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Requests is how many API requests matched "METHOD /path/prefix".
func (s *Sim) Requests(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.requests {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// ServeHTTP serves the CRM API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.Method+" "+r.URL.Path]++
	delay := s.delay
	var f *fault
	if len(s.faults) > 0 {
		f = &s.faults[0]
		s.faults = s.faults[1:]
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		apiError(w, http.StatusUnauthorized, "Authentication credentials not found.")
		return
	}
	if f != nil {
		if f.retryAfter >= 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		}
		apiError(w, f.status, "simulated fault")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // crm v3 objects <type> <id|search>
	if len(parts) != 5 || parts[0] != "crm" || parts[1] != "v3" || parts[2] != "objects" {
		apiError(w, http.StatusNotFound, "unknown endpoint")
		return
	}
	typ, last := parts[3], parts[4]
	switch {
	case r.Method == "GET":
		s.get(w, typ, last)
	case r.Method == "POST" && last == "search" && typ == "contacts":
		s.search(w, r)
	default:
		apiError(w, http.StatusNotFound, "unknown endpoint")
	}
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"status": "error", "message": msg})
}

func wire(o *Object, withAssociations bool) map[string]any {
	out := map[string]any{"id": o.ID, "properties": o.Properties, "createdAt": o.UpdatedAt, "updatedAt": o.UpdatedAt, "archived": false}
	if withAssociations {
		var results []map[string]string
		for _, c := range o.Contacts {
			results = append(results, map[string]string{"id": c, "type": "to_contact"})
		}
		out["associations"] = map[string]any{"contacts": map[string]any{"results": results}}
	}
	return out
}

func (s *Sim) get(w http.ResponseWriter, typ, id string) {
	s.mu.Lock()
	o, ok := s.objects[typ][id]
	var body map[string]any
	if ok {
		body = wire(o, typ != "contacts")
	}
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "resource not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func (s *Sim) search(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FilterGroups []struct {
			Filters []struct {
				PropertyName, Operator, Value string
			}
		}
		Limit int
		After string
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid search body")
		return
	}
	var since time.Time
	for _, g := range req.FilterGroups {
		for _, f := range g.Filters {
			if f.PropertyName == "lastmodifieddate" && f.Operator == "GTE" {
				ms, _ := strconv.ParseInt(f.Value, 10, 64)
				since = time.UnixMilli(ms)
			}
		}
	}
	limit := min(max(req.Limit, 1), 100)
	offset, _ := strconv.Atoi(req.After)
	s.mu.Lock()
	var hits []*Object
	for _, o := range s.objects["contacts"] {
		if !o.UpdatedAt.Before(since) {
			hits = append(hits, o)
		}
	}
	slices.SortFunc(hits, func(a, b *Object) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		x, _ := strconv.Atoi(a.ID)
		y, _ := strconv.Atoi(b.ID)
		return x - y
	})
	res := map[string]any{"total": len(hits)}
	var page []map[string]any
	for _, o := range hits[min(offset, len(hits)):min(offset+limit, len(hits))] {
		page = append(page, wire(o, false))
	}
	s.mu.Unlock()
	res["results"] = page
	if offset+limit < len(hits) {
		res["paging"] = map[string]any{"next": map[string]string{"after": strconv.Itoa(offset + limit)}}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// Event is a webhook event to send.
type Event struct {
	EventID          int64
	SubscriptionType string // contact.propertyChange, deal.creation, ticket.propertyChange …
	ObjectID         string
}

// SendWebhook delivers events in one signed batch to url, as HubSpot does
// (X-HubSpot-Signature-v3 over the full URL), and returns the status code.
// badSignature signs with a wrong secret.
func (s *Sim) SendWebhook(ctx context.Context, url string, events []Event, at time.Time, badSignature bool) (int, error) {
	var batch []crm.WebhookEvent
	for _, e := range events {
		id, _ := strconv.ParseInt(e.ObjectID, 10, 64)
		batch = append(batch, crm.WebhookEvent{EventID: e.EventID, SubscriptionType: e.SubscriptionType, ObjectID: id,
			OccurredAt: at.UnixMilli(), PortalID: 62515})
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	secret := s.Secret
	if badSignature {
		secret += "-wrong"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-HubSpot-Request-Timestamp", ts)
	req.Header.Set("X-HubSpot-Signature-v3", crm.SignHubSpotV3(secret, "POST", url, body, ts))
	req.Header.Set("X-HubSpot-Signature-Version", "v3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
