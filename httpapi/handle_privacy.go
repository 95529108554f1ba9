package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
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

// admin is the admin key's name the request carries (Authorization: Bearer),
// compared in constant time against every key.
func (s *Server) admin(r *http.Request) (string, bool) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(key))
	name := ""
	for _, k := range s.Admins {
		if subtle.ConstantTimeCompare(sum[:], k.KeySHA256[:]) == 1 {
			name = k.Name
		}
	}
	return name, name != ""
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
	actor, ok := s.admin(r)
	if !ok || s.Privacy == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kith-admin"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "an admin key is needed (Authorization: Bearer <key>)", nil)
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
	if _, ok := s.admin(r); !ok || s.Privacy == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kith-admin"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "an admin key is needed (Authorization: Bearer <key>)", nil)
		return
	}
	rec, err := s.Privacy.Erasure(r.Context(), r.PathValue("contact"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	receipt(w, rec)
}
