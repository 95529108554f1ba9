package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/crm"
)

// WebhookProvider is how a CRM signs its webhooks.
type WebhookProvider struct {
	Secret string // the app secret; never logged
	// Scheme is "hubspot-v3" (X-HubSpot-Signature-v3) or "hmac"
	// (X-Kith-Signature: t=…,v1=…).
	Scheme string
}

// maxWebhookBody bounds a webhook delivery (HubSpot batches up to 100 events).
const maxWebhookBody = 1 << 20

type webhookResponse struct {
	Accepted int `json:"accepted"`
	Ignored  int `json:"ignored"` // events about objects Kith does not sync
}

// handleWebhook verifies a CRM delivery's signature before anything else, then
// starts one CRMSync per event (workflow ID crm/<provider>/<event id>, so a
// redelivery collapses onto the first) and answers 200 once every start is
// durable. A bad or stale signature gets 401 and starts nothing.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	provider := r.PathValue("provider")
	p, ok := s.Webhooks[provider]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_provider", "no CRM called "+quote(provider)+" is configured", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the delivery is larger than 1 MiB", nil)
		return
	}
	keepForLake(r, body)
	now := s.Now()
	switch p.Scheme {
	case "hubspot-v3":
		err = crm.VerifyHubSpotV3(p.Secret, r.Method, s.PublicURL+r.URL.RequestURI(), body,
			r.Header.Get("X-HubSpot-Signature-v3"), r.Header.Get("X-HubSpot-Request-Timestamp"), now)
	default:
		err = crm.VerifyHMAC(p.Secret, body, r.Header.Get("X-Kith-Signature"), now)
	}
	if err != nil {
		s.Log.Warn("webhook refused", "provider", provider, "reason", err.Error())
		writeError(w, http.StatusUnauthorized, "bad_signature", "the delivery is not signed with this provider's secret, or is older than 5 minutes", nil)
		return
	}
	var events []crm.WebhookEvent
	if err := json.Unmarshal(body, &events); err != nil {
		writeError(w, http.StatusBadRequest, "malformed_json", "the delivery must be a JSON array of events: "+jsonProblem(err, &events), nil)
		return
	}
	var starts []kith.CRMSyncEvent
	res := webhookResponse{}
	for _, e := range events {
		typ := e.ObjectType()
		if typ == "" || e.EventID == 0 || e.ObjectID == 0 {
			res.Ignored++
			continue
		}
		starts = append(starts, kith.CRMSyncEvent{Provider: provider, EventID: e.EventID, Type: typ,
			ObjectID: strconv.FormatInt(e.ObjectID, 10), OccurredAt: time.UnixMilli(e.OccurredAt).UTC()})
	}
	if err := s.startSyncs(r, starts); err != nil {
		s.internal(w, r, err) // 503: the CRM retries the delivery
		return
	}
	res.Accepted = len(starts)
	lakeVerdict(r, kith.VerdictAccepted, map[string]int{"accepted": res.Accepted, "ignored": res.Ignored})
	writeJSON(w, http.StatusOK, res)
}

// startSyncs starts the syncs, a few at a time.
func (s *Server) startSyncs(r *http.Request, starts []kith.CRMSyncEvent) error {
	var wg sync.WaitGroup
	errs := make([]error, len(starts))
	sem := make(chan struct{}, 8)
	for i, in := range starts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.Syncs.StartCRMSync(r.Context(), in)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
