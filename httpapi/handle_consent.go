package httpapi

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/workflows"
)

// withdrawBody withdraws one consent. Granting goes through a form, where the
// person sees the consent text; withdrawing must be as easy as that, and is.
type withdrawBody struct {
	Purpose   string `json:"purpose"`
	Granted   bool   `json:"granted"`
	RequestID string `json:"request_id"` // the same id on retry records it once
}

func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	contactID := r.PathValue("contact")
	if _, err := uuid.Parse(contactID); err != nil {
		writeError(w, http.StatusNotFound, "not_found", "there is no such contact", nil)
		return
	}
	var body withdrawBody
	if _, ok := s.readJSON(w, r, &body); !ok {
		return
	}
	var vs kith.Violations
	if body.Granted {
		vs = append(vs, violation("granted", "grant_through_form", "consent is given through a form that shows its text; this endpoint only withdraws"))
	}
	if body.Purpose == "" {
		vs = append(vs, violation("purpose", "required", "is required"))
	}
	if !opaqueID.MatchString(body.RequestID) {
		vs = append(vs, violation("request_id", "invalid_id", "must be 8 to 128 letters, digits or . _ : -"))
	}
	if len(vs) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "the request needs fixing", vs)
		return
	}
	v, err := s.lookup(r.Context(), contactID, "")
	if err != nil {
		s.internal(w, r, err)
		return
	}
	cur, ok := v.consents[body.Purpose]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "this contact never gave that consent", nil)
		return
	}
	view, err := s.Contacts.ChangeConsent(r.Context(), contactID, workflows.ConsentChange{Record: kith.ConsentRecord{
		Purpose: body.Purpose, Status: kith.ConsentWithdrawn, TextVersion: cur.TextVersion, Source: kith.SourceForm,
		SourceRef: body.RequestID, IP: clientIP(r), UserAgent: r.UserAgent(), At: s.Now().UTC(),
	}})
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		writeError(w, http.StatusNotFound, "not_found", "there is no such contact", nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	statuses := map[string]kith.ConsentStatus{}
	for p, c := range view.Consents {
		statuses[p] = c.Status
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact_id": contactID, "consents": statuses})
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>{{.Title}}</title>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto">
<h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>`))

// handleConfirm is the link in a double opt-in message.
func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := func(status int, title, text string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		confirmPage.Execute(w, map[string]string{"Title": title, "Text": text})
	}
	contactID, purpose, token := q.Get("contact"), q.Get("purpose"), q.Get("token")
	if _, err := uuid.Parse(contactID); err != nil || purpose == "" || token == "" {
		page(http.StatusBadRequest, "This link is incomplete", "Open the whole link from the message we sent you.")
		return
	}
	err := s.Contacts.Confirm(r.Context(), contactID, workflows.ConfirmSignal{
		Purpose: purpose, Token: token, IP: clientIP(r), UserAgent: r.UserAgent(), At: s.Now().UTC(),
	})
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		page(http.StatusNotFound, "This link is no longer valid", "Sign up again to get a new one.")
	case err != nil:
		s.Log.Error("confirmation failed", "error", err)
		page(http.StatusServiceUnavailable, "Please try again", "We could not record your confirmation just now.")
	default:
		page(http.StatusOK, "Thank you", "Your confirmation has been received.")
	}
}
