package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
)

// AdminKey is one operator's key for the admin endpoints (privacy requests):
// its name goes into the audit log; only the key's SHA-256 is kept.
type AdminKey struct {
	Name      string
	KeySHA256 [32]byte
}

// requireAdmin is the name of the admin key the request carries
// (Authorization: Bearer), compared in constant time against every key; it
// answers 401 itself when there is none (or no privacy service to use it on).
func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request) (string, bool) {
	var admin AdminKey
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		// A browser sends the key as a Basic password (any user name).
		_, key, ok = r.BasicAuth()
	}
	if ok && key != "" {
		admin, ok = kith.MatchKey(key, s.Admins, func(k AdminKey) [32]byte { return k.KeySHA256 })
	}
	if !ok || key == "" {
		w.Header().Add("WWW-Authenticate", `Bearer realm="kith-admin"`)
		w.Header().Add("WWW-Authenticate", `Basic realm="kith-admin", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "an admin key is needed (Authorization: Bearer <key>, or as a Basic password)", nil)
		return "", false
	}
	return admin.Name, true
}

// admin serves h only when the service it needs is configured (404 else).
func (s *Server) admin(configured func() bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !configured() {
			writeError(w, http.StatusNotFound, "not_found", "this admin endpoint is not served here", nil)
			return
		}
		h(w, r)
	}
}

// erased says whether fields name an erased person (counted under path).
func (s *Server) erased(ctx context.Context, path string, fields map[kith.Field]kith.Value) (bool, error) {
	if s.Erased == nil {
		return false, nil
	}
	return s.Erased.Erased(ctx, path, kith.IdentitiesOf(fields))
}

// erasureResponse is an erasure's receipt and where it stands.
type erasureResponse struct {
	Status string `json:"status"` // running, completed
	kith.ErasureReceipt
}

func receipt(w http.ResponseWriter, r kith.ErasureReceipt) {
	if r.CompletedAt.IsZero() {
		writeJSON(w, http.StatusAccepted, erasureResponse{Status: "running", ErasureReceipt: r})
		return
	}
	writeJSON(w, http.StatusOK, erasureResponse{Status: "completed", ErasureReceipt: r})
}

// handleErase serves POST /v1/privacy/erasures {"contact_id": …} with an admin
// key: the contact's erasure from every store. 202 while it runs, 200 with the
// receipt when done; asking again is a no-op that answers the receipt.
func (s *Server) handleErase(w http.ResponseWriter, r *http.Request) {
	actor, ok := s.requireAdmin(w, r)
	if !ok {
		return
	}
	raw, p := s.readBody(w, r)
	if p != nil {
		writeError(w, p.status, p.code, p.msg, nil)
		return
	}
	var body struct {
		ContactID string `json:"contact_id"`
	}
	if p := decodeJSON(raw, &body); p != nil {
		writeError(w, p.status, p.code, p.msg, p.violations)
		return
	}
	if _, err := uuid.Parse(body.ContactID); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "the request needs fixing",
			kith.Violations{violation("contact_id", "invalid_id", "must be a contact id (a UUID)")})
		return
	}
	rec, err := s.Privacy.Erase(r.Context(), body.ContactID, "admin:"+actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	receipt(w, rec)
}

// handleErasure serves GET /v1/privacy/erasures/{contact} with an admin key:
// the erasure's receipt so far.
func (s *Server) handleErasure(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireAdmin(w, r); !ok {
		return
	}
	rec, err := s.Privacy.Erasure(r.Context(), r.PathValue("contact"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	receipt(w, rec)
}

// handleExport serves GET /v1/privacy/contacts/{contact}/export with an admin
// key: everything Kith holds on the contact, as one JSON document (the right
// of access), served as an attachment.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	actor, ok := s.requireAdmin(w, r)
	if !ok {
		return
	}
	id := r.PathValue("contact")
	doc, err := s.Exports.ExportContact(r.Context(), id, "admin:"+actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="kith-contact-`+id+`.json"`)
	writeJSON(w, http.StatusOK, doc)
}
