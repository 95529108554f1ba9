package httpapi

import (
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/esp"
)

// ESPWebhook is the ESP whose event webhook the API takes: SendGrid's Signed
// Event Webhook, checked with its verification key.
type ESPWebhook struct {
	Key *ecdsa.PublicKey
	// Suppressions keeps the addresses hard bounces and spam reports suppress.
	Suppressions kith.SuppressionStore
	// EmailPurposes are the consent purposes a hard bounce or a spam report
	// withdraws (default email_marketing); an unsubscribe withdraws the
	// message's own purpose.
	EmailPurposes []string
}

// emailPurposes are the purposes a bounce withdraws: a fresh slice the caller
// may extend (default email_marketing).
func (h *ESPWebhook) emailPurposes() []string {
	if len(h.EmailPurposes) == 0 {
		return []string{"email_marketing"}
	}
	return slices.Clone(h.EmailPurposes)
}

type espResponse struct {
	Accepted    int `json:"accepted"`
	Duplicates  int `json:"duplicates"`
	Quarantined int `json:"quarantined"`
	Refused     int `json:"refused,omitempty"` // events of erased people: not stored
}

// handleESPEvents serves POST /v1/webhooks/esp/sendgrid. A delivery whose
// signature does not verify, or whose timestamp is stale, is refused (401) and
// nothing of it is kept. Each event is stored once by its sg_event_id
// (SendGrid delivers the same event several times), linked to the delivery and
// the contact by the message's custom_args; an event that cannot be stored is
// quarantined with its reasons. A hard bounce or a spam report suppresses the
// address and withdraws the contact's email consent; an unsubscribe withdraws
// the message's purpose — through the contact's workflow, which cancels its
// pending triggers. Those changes are idempotent, so a redelivery repeats them
// harmlessly; a failure answers 503 and SendGrid retries.
func (s *Server) handleESPEvents(w http.ResponseWriter, r *http.Request) {
	hook := s.ESP
	if hook == nil || hook.Key == nil {
		writeError(w, http.StatusNotFound, "not_configured", "no SendGrid event webhook is configured (KITH_SENDGRID_WEBHOOK_KEY)", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the delivery is larger than 1 MiB", nil)
		return
	}
	keepForLake(r, body)
	if err := esp.Verify(hook.Key, r.Header.Get(esp.HeaderSignature), r.Header.Get(esp.HeaderTimestamp), body, s.Now()); err != nil {
		s.Log.Warn("ESP webhook refused", "reason", err.Error())
		writeError(w, http.StatusUnauthorized, "bad_signature", "the delivery is not signed with the configured verification key, or is older than 10 minutes", nil)
		return
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		s.quarantine(w, r, &problem{status: http.StatusBadRequest, code: "malformed_json", msg: "the delivery must be a JSON array of events: " + jsonProblem(err, &raws)},
			"", kith.SourceESP, body, "sendgrid", "") // signed: no anonymous caller's budget
		return
	}
	received := s.Now().UTC()
	var res espResponse
	var events []kith.Event
	var consequences []esp.Consequence
	var purposes, emails []string
	var bad []kith.Quarantined
	for _, raw := range raws {
		var e esp.Event
		var vs kith.Violations
		var ev kith.Event
		var cons esp.Consequence
		if err := json.Unmarshal(raw, &e); err != nil {
			vs = kith.Violations{violation("event", "malformed", jsonProblem(err, &e))}
		} else {
			ev, cons, vs = e.ToEvent(received)
		}
		if len(vs) > 0 {
			bad = append(bad, kith.Quarantine(kith.SourceESP, raw, vs, "sendgrid", e.SGEventID))
			continue
		}
		events, consequences = append(events, ev), append(consequences, cons)
		purposes, emails = append(purposes, e.Purpose), append(emails, strings.ToLower(strings.TrimSpace(e.Email)))
	}
	if s.Erased != nil && len(events) > 0 {
		// An erased person's late events (an open, a bounce) are not stored,
		// nor their address suppressed again: only counted.
		ids := make([][]kith.Identity, len(emails))
		for i, e := range emails {
			ids[i] = kith.IdentitiesOf(map[kith.Field]kith.Value{kith.FieldEmail: {Value: e}})
		}
		gone, err := s.Erased.ErasedEach(r.Context(), "esp", ids)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		kept := 0
		for i := range events {
			if gone[i] {
				res.Refused++
				continue
			}
			events[kept], consequences[kept], purposes[kept], emails[kept] = events[i], consequences[i], purposes[i], emails[i]
			kept++
		}
		events, consequences, purposes, emails = events[:kept], consequences[:kept], purposes[:kept], emails[:kept]
	}
	if len(bad) > 0 {
		if err := s.Store.Quarantine(r.Context(), bad); err != nil {
			s.internal(w, r, err)
			return
		}
		res.Quarantined = len(bad)
	}
	relay := make([]bool, len(events))
	for i, e := range events {
		relay[i] = e.ContactID != "" && s.realtime(e.Type) && !e.Machine
	}
	fresh, err := s.appendEvents(r.Context(), events, relay, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for i, e := range events {
		if fresh[i] {
			res.Accepted++
		} else {
			res.Duplicates++
		}
		if err := s.espConsequence(r, hook, e, consequences[i], purposes[i], emails[i]); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	verdict := kith.VerdictAccepted
	switch {
	case res.Accepted == 0 && res.Duplicates > 0:
		verdict = kith.VerdictDuplicate
	case res.Quarantined > 0:
		verdict = kith.VerdictQuarantined
	}
	lakeVerdict(r, verdict, map[string]int{"accepted": res.Accepted, "duplicate": res.Duplicates, "quarantined": res.Quarantined, "refused_erased": res.Refused})
	writeJSON(w, http.StatusOK, res)
}

// espConsequence applies what an event means beyond itself.
func (s *Server) espConsequence(r *http.Request, hook *ESPWebhook, e kith.Event, cons esp.Consequence, purpose, email string) error {
	var withdraw []string
	// An unsubscribe is the person's decision, at its time; a bounce or a spam
	// report is Kith's, taken now (SendGrid's times are whole seconds and must
	// not fall before a grant made in the same second).
	at := e.OccurredAt
	switch cons {
	case esp.None:
		return nil
	case esp.Suppress:
		reason := "spamreport"
		if e.Type == esp.EventTypes["bounce"] {
			reason = "bounce"
		}
		if email != "" {
			if err := hook.Suppressions.Suppress(r.Context(), email, reason, kith.SourceESP, e.EventID); err != nil {
				return err
			}
		}
		withdraw = hook.emailPurposes()
		if purpose != "" && !slices.Contains(withdraw, purpose) {
			withdraw = append(withdraw, purpose)
		}
		at = e.ReceivedAt
	case esp.Unsubscribe:
		if purpose == "" { // a message sent before Kith tagged its purpose
			purpose = hook.emailPurposes()[0]
		}
		withdraw = []string{purpose}
	}
	if e.ContactID == "" {
		return nil
	}
	for _, p := range withdraw {
		_, err := s.Contacts.ChangeConsent(r.Context(), e.ContactID, kith.ConsentChange{Record: kith.ConsentRecord{
			Purpose: p, Status: kith.ConsentWithdrawn, TextVersion: "esp", Source: kith.SourceESP, SourceRef: e.EventID, At: at,
		}})
		if err != nil && kith.ErrorCode(err) != kith.CodeNotFound {
			return err
		}
	}
	return nil
}
