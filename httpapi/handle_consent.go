package httpapi

import (
	"html/template"
	"net/http"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
)

// withdrawBody withdraws one consent. Granting goes through a form, where the
// person sees the consent text; withdrawing must be as easy as that, and is: the
// signed link of any message Kith sent authorizes it.
type withdrawBody struct {
	Purpose   string `json:"purpose"`
	Granted   bool   `json:"granted"`
	RequestID string `json:"request_id"` // the same id on retry records it once
	// Token is the signed unsubscribe token of the contact's link (kith.Signer):
	// a contact id alone is not enough to change anyone's consent.
	Token string `json:"token"`
}

func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	contactID := r.PathValue("contact")
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
	l, err := s.Links.Verify(body.Token, kith.LinkUnsubscribe, s.Now())
	if err != nil || l.ContactID != contactID || (l.Purpose != "*" && l.Purpose != body.Purpose) {
		writeError(w, http.StatusForbidden, "invalid_link", "withdrawing needs the signed link of a message we sent; this one is not valid or has expired", nil)
		return
	}
	view, err := s.withdraw(r, contactID, body.Purpose, body.RequestID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	statuses := map[string]kith.ConsentStatus{}
	for p, c := range view.Consents {
		statuses[p] = c.Status
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact_id": contactID, "consents": statuses})
}

// withdraw records the withdrawal of one purpose ("*": every purpose given).
func (s *Server) withdraw(r *http.Request, contactID, purpose, requestID string) (kith.ContactView, error) {
	view, err := s.Contacts.State(r.Context(), contactID)
	if err != nil {
		return view, err
	}
	purposes := []string{purpose}
	if purpose == "*" {
		purposes = kith.SortedKeys(view.Consents)
	}
	for _, p := range purposes {
		cur, ok := view.Consents[p]
		if !ok {
			if purpose == "*" {
				continue
			}
			return view, kith.Errorf(kith.CodeNotFound, "this contact never gave that consent")
		}
		if cur.Status == kith.ConsentWithdrawn {
			continue // already withdrawn: nothing to record
		}
		if view, err = s.Contacts.ChangeConsent(r.Context(), contactID, kith.ConsentChange{Record: kith.ConsentRecord{
			Purpose: p, Status: kith.ConsentWithdrawn, TextVersion: cur.TextVersion, Source: kith.SourceForm,
			SourceRef: requestID, IP: clientIP(r), UserAgent: r.UserAgent(), At: s.Now().UTC(),
		}}); err != nil {
			return view, err
		}
	}
	return view, nil
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Title}}</title>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto">
<h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Action}}<form method="post" action="{{.Action}}"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">{{.Button}}</button></form>{{end}}</body></html>`))

type pageData struct{ Title, Text, Action, Button string }

func showPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds a token
	w.WriteHeader(status)
	page.Execute(w, d)
}

// notValid is the one page every link that cannot be used shows: a wrong token,
// an unknown contact, an expired or foreign link look alike, so a link tells
// nothing about who exists.
func notValid(w http.ResponseWriter) {
	showPage(w, http.StatusNotFound, pageData{Title: "This link is not valid",
		Text: "It may have expired or been used in another browser. Open the newest message we sent you, or sign up again."})
}

func (s *Server) linkFailed(w http.ResponseWriter, r *http.Request, err error) {
	if kith.ErrorCode(err) == kith.CodeNotFound || kith.ErrorCode(err) == kith.CodeInvalid {
		notValid(w)
		return
	}
	s.Log.Error("link not applied", "path", r.URL.Path, "error", err)
	showPage(w, http.StatusServiceUnavailable, pageData{Title: "Please try again", Text: "We could not record this just now; open the link again in a minute."})
}

// handleConfirm is the link in a double opt-in message.
func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	contactID, purpose, token := q.Get("contact"), q.Get("purpose"), q.Get("token")
	if _, err := uuid.Parse(contactID); err != nil || purpose == "" || token == "" {
		notValid(w)
		return
	}
	err := s.Contacts.Confirm(r.Context(), contactID, kith.OptInConfirmation{
		Purpose: purpose, Token: token, IP: clientIP(r), UserAgent: r.UserAgent(), At: s.Now().UTC(),
	})
	if err != nil {
		s.linkFailed(w, r, err)
		return
	}
	showPage(w, http.StatusOK, pageData{Title: "Thank you", Text: "Your confirmation has been received."})
}

// handleVerifyClaim is the link sent when a browser the contact had not
// verified submitted a form with the contact's email: opened in that browser,
// it applies the answers and links the browser; anywhere else it does nothing.
func (s *Server) handleVerifyClaim(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	c, err := r.Cookie(browserCookie)
	if token == "" || err != nil || !opaqueID.MatchString(c.Value) {
		notValid(w)
		return
	}
	if _, err := s.Contacts.VerifyClaim(r.Context(), token, s.Links.Browser(c.Value)); err != nil {
		s.linkFailed(w, r, err)
		return
	}
	showPage(w, http.StatusOK, pageData{Title: "Your answers are saved", Text: "Thank you for confirming it was you."})
}

// handleUnsubscribePage is the unsubscribe link a person opens: a page with one
// button, because mail scanners open links (a GET never unsubscribes).
func (s *Server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Links.Verify(r.URL.Query().Get("token"), kith.LinkUnsubscribe, s.Now()); err != nil {
		notValid(w)
		return
	}
	showPage(w, http.StatusOK, pageData{Title: "Unsubscribe", Text: "Stop receiving these emails?",
		Action: "/v1/unsubscribe?" + r.URL.RawQuery, Button: "Unsubscribe"})
}

// handleUnsubscribe is RFC 8058 one-click unsubscribe: the mail client POSTs
// "List-Unsubscribe=One-Click" to the List-Unsubscribe URL, whose signed token
// names the contact and the purpose.
func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	l, err := s.Links.Verify(r.URL.Query().Get("token"), kith.LinkUnsubscribe, s.Now())
	if err != nil {
		notValid(w)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		showPage(w, http.StatusBadRequest, pageData{Title: "This request is incomplete", Text: "Use the Unsubscribe button of the page the link opens."})
		return
	}
	// One request id per link: a client that posts twice records one withdrawal.
	requestID := "unsubscribe/" + l.Expires.UTC().Format("20060102T150405")
	if _, err := s.withdraw(r, l.ContactID, l.Purpose, requestID); err != nil {
		s.linkFailed(w, r, err)
		return
	}
	showPage(w, http.StatusOK, pageData{Title: "You are unsubscribed", Text: "You will not get these emails any more."})
}
