package httpapi

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// opaqueID is what the API accepts as a submission or anonymous id.
var opaqueID = regexp.MustCompile(`^[A-Za-z0-9_.:-]{8,128}$`)

// visitor is who is filling in a form: the contact this browser has shown it is
// (its anonymous id is linked to the contact, or it came with a signed profile
// link), and what Kith knows of them. A contact id alone proves nothing.
type visitor struct {
	contactID string
	viaLink   bool // identified by a signed profile link, not (yet) by its anonymous id
	known     map[kith.Field]kith.Value
	consents  map[string]kith.ConsentRecord
}

func (v visitor) granted() map[string]bool {
	g := map[string]bool{}
	for p, c := range v.consents {
		g[p] = c.Status == kith.ConsentGranted || c.Status == kith.ConsentPending
	}
	return g
}

// identify finds the visitor by a signed profile link, else by its anonymous
// id; an unknown visitor is not an error, a bad or expired link is.
func (s *Server) identify(ctx context.Context, anonymousID, token string, now time.Time) (visitor, kith.Violations, error) {
	var v visitor
	switch {
	case token != "":
		l, err := s.Links.Verify(token, kith.LinkProfile, now)
		if err != nil {
			return v, kith.Violations{violation("contact_token", "invalid_link", "is not a valid link or has expired; open the newest link we sent you")}, nil
		}
		v.contactID, v.viaLink = l.ContactID, true
	case anonymousID != "":
		id, err := s.Contacts.Lookup(ctx, kith.Identity{Kind: kith.IdentityAnonymous, Value: anonymousID})
		if err != nil && kith.ErrorCode(err) != kith.CodeNotFound {
			return v, nil, err
		}
		v.contactID = id
	}
	if v.contactID == "" {
		return v, nil, nil
	}
	view, err := s.Contacts.State(ctx, v.contactID)
	if kith.ErrorCode(err) == kith.CodeNotFound {
		return visitor{}, nil, nil
	}
	if err != nil {
		return v, nil, err
	}
	v.known, v.consents = view.Fields, view.Consents
	return v, nil, nil
}

// checkIDs validates the visitor ids of a request.
func checkIDs(contactID, anonymousID string) kith.Violations {
	var vs kith.Violations
	if contactID != "" {
		if _, err := uuid.Parse(contactID); err != nil {
			vs = append(vs, violation("contact_id", "invalid_id", "is not a contact id Kith gave out"))
		}
	}
	if anonymousID != "" && !opaqueID.MatchString(anonymousID) {
		vs = append(vs, violation("anonymous_id", "invalid_id", "must be 8 to 128 letters, digits or . _ : -"))
	}
	return vs
}

func violation(field, code, msg string) kith.Violation {
	return kith.Violation{Field: field, Code: code, Message: msg, Severity: kith.SeverityReject}
}

type nextResponse struct {
	ContactID string `json:"contact_id,omitempty"`
	kith.NextStep
}

func (s *Server) handleNext(w http.ResponseWriter, r *http.Request) {
	form, ok := s.Forms[r.PathValue("form")]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_form", "there is no form called "+quote(r.PathValue("form")), nil)
		return
	}
	q := r.URL.Query()
	if vs := checkIDs(q.Get("contact_id"), q.Get("anonymous_id")); len(vs) > 0 {
		writeError(w, http.StatusBadRequest, "invalid", "the visitor id is not valid", vs)
		return
	}
	// contact_id is not read: it would hand anyone the profile of any id.
	v, vs, err := s.identify(r.Context(), q.Get("anonymous_id"), q.Get("contact_token"), s.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(vs) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "the link is not valid", vs)
		return
	}
	writeJSON(w, http.StatusOK, nextResponse{ContactID: v.contactID, NextStep: form.Next(v.known, v.granted())})
}

// submissionBody is what a form page posts.
type submissionBody struct {
	SubmissionID string `json:"submission_id"`
	AnonymousID  string `json:"anonymous_id"`
	// ContactID is accepted for older pages but grants nothing: the visitor is
	// who its anonymous id or ContactToken (a signed profile link) says.
	ContactID    string                   `json:"contact_id"`
	ContactToken string                   `json:"contact_token"`
	Fields       map[string]string        `json:"fields"`
	Consents     map[string]consentAnswer `json:"consents"`
}

type consentAnswer struct {
	Granted     bool   `json:"granted"`
	TextVersion string `json:"text_version"`
}

type submitResponse struct {
	ContactID    string                        `json:"contact_id"`
	Completeness int                           `json:"completeness"`
	Stage        string                        `json:"stage"`
	Consents     map[string]kith.ConsentStatus `json:"consents"`
	Warnings     kith.Violations               `json:"warnings,omitempty"`
	Next         kith.NextStep                 `json:"next"`
}

// claimResponse answers a submission held until the person verifies it: it
// says what to do and nothing about the contact.
type claimResponse struct {
	Status  string `json:"status"` // verification_sent
	Message string `json:"message"`
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	form, ok := s.Forms[r.PathValue("form")]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_form", "there is no form called "+quote(r.PathValue("form")), nil)
		return
	}
	raw, p := s.readBody(w, r)
	if p != nil {
		writeError(w, p.status, p.code, p.msg, nil)
		return
	}
	var body submissionBody
	if p := decodeJSON(raw, &body); p != nil {
		s.refuse(w, r, form.ID, "", raw, p)
		return
	}
	ctx := r.Context()
	now := s.Now().UTC()

	vs := checkIDs(body.ContactID, body.AnonymousID)
	if !opaqueID.MatchString(body.SubmissionID) {
		vs = append(vs, violation("submission_id", "invalid_id", "must be 8 to 128 letters, digits or . _ : - (one per submission, reused on retry)"))
	}
	var v visitor
	if len(vs) == 0 {
		var lvs kith.Violations
		var err error
		if v, lvs, err = s.identify(ctx, body.AnonymousID, body.ContactToken, now); err != nil {
			s.fail(w, r, err)
			return
		}
		vs = append(vs, lvs...)
	}
	prov := kith.Provenance{Source: kith.SourceForm, Ref: form.ID + "/" + body.SubmissionID, At: now}
	fields, warnings, fvs := s.standardize(form, body.Fields, v.known, prov)
	vs = append(vs, fvs...)
	consents, cvs := consentRecords(form, body, v, clientIP(r), r.UserAgent(), now)
	vs = append(vs, cvs...)
	email := fields[kith.FieldEmail].Value
	if v.contactID == "" && body.AnonymousID == "" && email == "" {
		vs = append(vs, violation("email", "required", "is needed to know who you are"))
	}
	if len(vs) > 0 {
		s.refuse(w, r, form.ID, body.SubmissionID, raw, &problem{status: http.StatusUnprocessableEntity, code: "invalid", msg: "some answers need fixing", violations: vs})
		return
	}

	req := kith.SubmitRequest{Region: s.Quality.DefaultRegion, Submission: kith.Submission{
		SubmissionID: body.SubmissionID, Form: form.ID, AnonymousID: body.AnonymousID,
		Fields: fields, Consents: consents, Raw: raw, ReceivedAt: now,
	}}
	for _, c := range form.Consents {
		if c.DoubleOptIn {
			req.DoubleOptIn = append(req.DoubleOptIn, c.Purpose)
		}
	}
	if gone, err := s.erased(ctx, "form", fields); err != nil {
		s.fail(w, r, err)
		return
	} else if gone {
		// A person erased at their request: nothing is stored, and the answer
		// is the same whoever asks.
		writeJSON(w, http.StatusAccepted, claimResponse{Status: "not_stored", Message: "These answers were not saved."})
		return
	}
	id, claim, err := s.target(ctx, v, body.AnonymousID, email)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req.Submission.ContactID = id
	if claim {
		s.holdClaim(w, r, req, now)
		return
	}
	if v.viaLink && body.AnonymousID != "" {
		// The signed link proves who this browser is: its anonymous id joins.
		if err := s.Contacts.Link(ctx, id, kith.Identity{Kind: kith.IdentityAnonymous, Value: body.AnonymousID}, kith.SourceForm); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	view, err := s.Contacts.Submit(ctx, req)
	if err != nil {
		if kith.ErrorCode(err) == kith.CodeInvalid {
			var e *kith.Error
			errors.As(err, &e)
			s.refuse(w, r, form.ID, body.SubmissionID, raw, &problem{status: http.StatusUnprocessableEntity, code: "invalid", msg: e.Message, violations: e.Violations})
			return
		}
		s.fail(w, r, err)
		return
	}
	resp := submitResponse{ContactID: id, Completeness: view.Completeness, Stage: view.Stage,
		Consents: map[string]kith.ConsentStatus{}, Warnings: warnings}
	for p, c := range view.Consents {
		resp.Consents[p] = c.Status
	}
	resp.Next = form.Next(view.Fields, visitor{consents: view.Consents}.granted())
	writeJSON(w, http.StatusOK, resp)
}

// target decides which contact a submission is for, and whether it is only a
// claim on that contact. An email no contact has goes to the visitor's contact
// (a new one for a new visitor); an email another contact owns, named from a
// browser that contact has not verified, is a claim on that contact.
func (s *Server) target(ctx context.Context, v visitor, anonymousID, email string) (string, bool, error) {
	owner := ""
	if email != "" {
		id, err := s.Contacts.Lookup(ctx, kith.Identity{Kind: kith.IdentityEmail, Value: email})
		if err != nil && kith.ErrorCode(err) != kith.CodeNotFound {
			return "", false, err
		}
		owner = id
	}
	switch {
	case owner != "" && owner != v.contactID:
		return owner, true, nil
	case v.contactID != "":
		return v.contactID, false, nil
	}
	if email == "" { // an anonymous visitor: a contact of its own
		id, _, err := s.Contacts.Resolve(ctx, []kith.Identity{{Kind: kith.IdentityAnonymous, Value: anonymousID}}, kith.SourceForm)
		return id, false, err
	}
	id, created, err := s.Contacts.Resolve(ctx, []kith.Identity{{Kind: kith.IdentityEmail, Value: email}}, kith.SourceForm)
	if err != nil || !created {
		// Another request created the contact of this email a moment ago: this
		// browser has shown nothing yet, so it is a claim like any other.
		return id, err == nil, err
	}
	if anonymousID != "" {
		err = s.Contacts.Link(ctx, id, kith.Identity{Kind: kith.IdentityAnonymous, Value: anonymousID}, kith.SourceForm)
	}
	return id, false, err
}

// browserCookie names the HttpOnly cookie that tells one browser from another
// for claims: a link applies a claim only in the browser that made it.
const browserCookie = "kith_browser"

// holdClaim keeps a submission for an existing contact until the person opens
// the link sent to the contact's address in this same browser, and answers 202
// without a word about the contact.
func (s *Server) holdClaim(w http.ResponseWriter, r *http.Request, req kith.SubmitRequest, now time.Time) {
	if err := s.claim(w, r, req, now); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, claimResponse{Status: "verification_sent",
		Message: "We know this email address already. To keep its profile safe we sent a link to it: open the link in this browser and your answers will be saved."})
}

// claim holds req as a claim bound to this browser: its kith_browser cookie,
// issued now when it has none, is what the link must be opened with.
func (s *Server) claim(w http.ResponseWriter, r *http.Request, req kith.SubmitRequest, now time.Time) error {
	cookie := ""
	if c, err := r.Cookie(browserCookie); err == nil && opaqueID.MatchString(c.Value) {
		cookie = c.Value
	} else {
		cookie = rand.Text()
		http.SetCookie(w, &http.Cookie{Name: browserCookie, Value: cookie, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.PublicURL, "https://")})
	}
	return s.Contacts.Claim(r.Context(), kith.Claim{ContactID: req.Submission.ContactID, Request: req, Browser: s.Links.Browser(cookie), At: now})
}

// standardize validates the submitted fields with the quality rules: only the
// form's fields, required ones present unless known. Phones and dates are read by
// the submitted country, else the one already known.
func (s *Server) standardize(form *kith.Form, in map[string]string, known map[kith.Field]kith.Value, prov kith.Provenance) (map[kith.Field]kith.Value, kith.Violations, kith.Violations) {
	var vs kith.Violations
	raw := map[kith.Field]string{}
	for _, name := range kith.SortedKeys(in) {
		f := kith.Field(name)
		if _, _, ok := form.Field(f); !ok {
			vs = append(vs, violation(name, "unknown_field", "is not a field of this form"))
			continue
		}
		raw[f] = in[name]
	}
	for _, st := range form.Steps {
		for _, ff := range st.Fields {
			if ff.Required && known[ff.Field].Value == "" && raw[ff.Field] == "" {
				vs = append(vs, violation(string(ff.Field), "required", "is required"))
			}
		}
	}
	opts := s.Quality.ForContact(known)
	opts.Now = prov.At
	res := quality.Record(raw, opts)
	rejects, warnings := res.Violations.Split()
	vs = append(vs, rejects...)
	return res.Values(prov, nil), warnings, vs
}

// consentRecords turns the consent answers into ledger records: a grant of a
// double opt-in purpose is pending until confirmed; a refusal is recorded only
// as the withdrawal of a consent given before. Required purposes must be given
// now or already.
func consentRecords(form *kith.Form, body submissionBody, v visitor, ip, ua string, now time.Time) ([]kith.ConsentRecord, kith.Violations) {
	var out []kith.ConsentRecord
	var vs kith.Violations
	for _, purpose := range kith.SortedKeys(body.Consents) {
		ans := body.Consents[purpose]
		fc, ok := form.Consent(purpose)
		if !ok {
			vs = append(vs, violation("consents."+purpose, "unknown_consent", "is not a consent this form asks for"))
			continue
		}
		if ans.TextVersion != fc.Version {
			vs = append(vs, violation("consents."+purpose, "stale_consent_text",
				"was given to another version of the text; show the current one ("+fc.Version+") and ask again"))
			continue
		}
		cur := v.consents[purpose].Status
		status := kith.ConsentGranted
		switch {
		case !ans.Granted && (cur == kith.ConsentGranted || cur == kith.ConsentPending):
			status = kith.ConsentWithdrawn
		case !ans.Granted:
			continue
		case cur == kith.ConsentGranted:
			continue // already given; nothing new
		case fc.DoubleOptIn:
			status = kith.ConsentPending
		}
		out = append(out, kith.ConsentRecord{Purpose: purpose, Status: status, TextVersion: fc.Version,
			Source: kith.SourceForm, SourceRef: body.SubmissionID, IP: ip, UserAgent: ua, At: now})
	}
	for _, fc := range form.Consents {
		if !fc.Required {
			continue
		}
		cur := v.consents[fc.Purpose].Status
		ans, answered := body.Consents[fc.Purpose]
		given := cur == kith.ConsentGranted || cur == kith.ConsentPending
		if (answered && !ans.Granted) || (!answered && !given) {
			vs = append(vs, violation("consents."+fc.Purpose, "consent_required", "must be given to submit this form"))
		}
	}
	return out, vs
}

// refuse answers a refused submission and keeps it, byte for byte, in quarantine
// with its reasons.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, form, submissionID string, raw []byte, p *problem) {
	if !opaqueID.MatchString(submissionID) {
		submissionID = "" // the payload's hash names it
	}
	s.quarantine(w, r, p, anonymousClient(r), kith.SourceForm, raw, form, submissionID)
}

// anonymousClient names an unauthenticated caller for its hourly quarantine
// budget: by address (forms, the tracker and the events API, whose write keys
// are public in every page that embeds them).
func anonymousClient(r *http.Request) string { return "ip:" + clientIP(r) }

// quarantine answers a refused request with its problem and keeps the body in
// quarantine (nothing a client sent is lost); ref names it (see kith.Quarantine).
// client is the anonymous caller whose hourly budget it counts against ("" for
// a signed delivery).
func (s *Server) quarantine(w http.ResponseWriter, r *http.Request, p *problem, client string, src kith.Source, body []byte, ref ...string) {
	vs := p.violations
	if len(vs) == 0 {
		vs = kith.Violations{violation("body", p.code, p.msg)}
	}
	q := kith.Quarantine(src, body, vs, ref...)
	q.Client = client
	if err := s.Store.Quarantine(r.Context(), []kith.Quarantined{q}); err != nil {
		s.internal(w, r, err)
		return
	}
	writeError(w, p.status, p.code, p.msg, p.violations)
}
