package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/workflows"
)

// Store is what the API reads and writes directly: identities, the quarantine,
// and contacts that have no workflow yet (imported ones).
type Store interface {
	kith.ProfileStore
	kith.ContactStore
	kith.EventStore
}

// opaqueID is what the API accepts as a submission or anonymous id.
var opaqueID = regexp.MustCompile(`^[A-Za-z0-9_.:-]{8,128}$`)

// visitor is who is filling in a form, and what Kith knows of them.
type visitor struct {
	contactID string
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

// lookup finds the visitor by contact id or anonymous id; an unknown visitor is
// not an error.
func (s *Server) lookup(ctx context.Context, contactID, anonymousID string) (visitor, error) {
	v := visitor{contactID: contactID}
	if v.contactID == "" && anonymousID != "" {
		id, err := s.Store.ContactIDFor(ctx, kith.Identity{Kind: kith.IdentityAnonymous, Value: anonymousID})
		if err != nil && kith.ErrorCode(err) != kith.CodeNotFound {
			return v, err
		}
		v.contactID = id
	}
	if v.contactID == "" {
		return v, nil
	}
	view, ok, err := s.Contacts.State(ctx, v.contactID)
	if err != nil {
		return v, err
	}
	if ok {
		v.known, v.consents = view.Fields, view.Consents
		return v, nil
	}
	// No workflow yet (an imported contact): what the store has.
	c, err := s.Store.Contact(ctx, v.contactID)
	if kith.ErrorCode(err) == kith.CodeNotFound {
		return visitor{}, nil
	}
	if err != nil {
		return v, err
	}
	v.known = c.Fields
	if v.consents, err = s.Store.Consents(ctx, v.contactID); err != nil {
		return v, err
	}
	return v, nil
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
	v, err := s.lookup(r.Context(), q.Get("contact_id"), q.Get("anonymous_id"))
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nextResponse{ContactID: v.contactID, NextStep: form.Next(v.known, v.granted())})
}

// submissionBody is what a form page posts.
type submissionBody struct {
	SubmissionID string                   `json:"submission_id"`
	AnonymousID  string                   `json:"anonymous_id"`
	ContactID    string                   `json:"contact_id"`
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

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	form, ok := s.Forms[r.PathValue("form")]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_form", "there is no form called "+quote(r.PathValue("form")), nil)
		return
	}
	var body submissionBody
	raw, ok := s.readJSON(w, r, &body)
	if !ok {
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
		var err error
		if v, err = s.lookup(ctx, body.ContactID, body.AnonymousID); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	fields, warnings, fvs := s.standardize(form, body.Fields, v.known, now)
	vs = append(vs, fvs...)
	consents, cvs := consentRecords(form, body, v, clientIP(r), r.UserAgent(), now)
	vs = append(vs, cvs...)
	if body.ContactID == "" && body.AnonymousID == "" && fields[kith.FieldEmail].Value == "" {
		vs = append(vs, violation("email", "required", "is needed to know who you are"))
	}
	if len(vs) > 0 {
		s.refuse(w, r, form.ID, body.SubmissionID, raw, vs)
		return
	}

	id := v.contactID
	if id == "" {
		var ids []kith.Identity
		if e := fields[kith.FieldEmail].Value; e != "" {
			ids = append(ids, kith.Identity{Kind: kith.IdentityEmail, Value: e})
		}
		if body.AnonymousID != "" {
			ids = append(ids, kith.Identity{Kind: kith.IdentityAnonymous, Value: body.AnonymousID})
		}
		var err error
		if id, err = s.Store.ResolveContact(ctx, ids, s.NewID(), kith.SourceForm); err != nil {
			s.internal(w, r, err)
			return
		}
	} else if body.AnonymousID != "" {
		if _, err := s.Store.ResolveContact(ctx, []kith.Identity{{Kind: kith.IdentityAnonymous, Value: body.AnonymousID}}, id, kith.SourceForm); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	req := workflows.SubmitRequest{Submission: kith.Submission{
		SubmissionID: body.SubmissionID, Form: form.ID, ContactID: id, AnonymousID: body.AnonymousID,
		Fields: fields, Consents: consents, Raw: raw, ReceivedAt: now,
	}}
	for _, c := range form.Consents {
		if c.DoubleOptIn {
			req.DoubleOptIn = append(req.DoubleOptIn, c.Purpose)
		}
	}
	view, err := s.Contacts.Submit(ctx, req)
	if err != nil {
		s.internal(w, r, err)
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

// standardize validates the submitted fields with the quality rules: only the
// form's fields, required ones present unless known. Phones and dates are read by
// the submitted country, else the one already known.
func (s *Server) standardize(form *kith.Form, in map[string]string, known map[kith.Field]kith.Value, now time.Time) (map[kith.Field]kith.Value, kith.Violations, kith.Violations) {
	var vs kith.Violations
	raw := map[kith.Field]string{}
	for _, name := range sortedKeys(in) {
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
	opts := s.Quality
	opts.Now = now
	if c := known[kith.FieldCountry].Value; c != "" {
		opts.DefaultRegion = c
	}
	res := quality.Record(raw, opts)
	rejects, warnings := res.Violations.Split()
	vs = append(vs, rejects...)
	out := make(map[kith.Field]kith.Value, res.Fields.Len())
	for f, val := range res.Fields.All() {
		out[f] = kith.Value{Value: val}
	}
	return out, warnings, vs
}

// consentRecords turns the consent answers into ledger records: a grant of a
// double opt-in purpose is pending until confirmed; a refusal is recorded only
// as the withdrawal of a consent given before. Required purposes must be given
// now or already.
func consentRecords(form *kith.Form, body submissionBody, v visitor, ip, ua string, now time.Time) ([]kith.ConsentRecord, kith.Violations) {
	var out []kith.ConsentRecord
	var vs kith.Violations
	for _, purpose := range sortedKeys(body.Consents) {
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

// refuse answers 422 with the violations and keeps the submission in quarantine.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, form, submissionID string, raw []byte, vs kith.Violations) {
	ref := submissionID
	if !opaqueID.MatchString(ref) {
		sum := sha256.Sum256(raw)
		ref = "sha256:" + hex.EncodeToString(sum[:])
	}
	if err := s.Store.Quarantine(r.Context(), []kith.Quarantined{{Source: kith.SourceForm, Ref: form + "/" + ref, Payload: raw, Violations: vs}}); err != nil {
		s.internal(w, r, err)
		return
	}
	writeError(w, http.StatusUnprocessableEntity, "invalid", "some answers need fixing", vs)
}
