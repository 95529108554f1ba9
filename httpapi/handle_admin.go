package httpapi

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
)

// handleReviews serves GET /v1/admin/reviews?limit=20 with an admin key: the
// de-duplication pairs waiting for a person, most likely matches first.
func (s *Server) handleReviews(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireAdmin(w, r); !ok {
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "the request needs fixing",
				kith.Violations{violation("limit", "out_of_range", "must be a whole number from 1 to 500")})
			return
		}
		limit = n
	}
	pairs, err := s.Reviews.PendingReviews(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"pairs": append([]kith.ReviewPair{}, pairs...)})
}

// handleDecideReview serves POST /v1/admin/reviews {"a", "b", "decision":
// "merge" | "keep_apart"} with an admin key; the next de-duplication applies it.
func (s *Server) handleDecideReview(w http.ResponseWriter, r *http.Request) {
	actor, ok := s.requireAdmin(w, r)
	if !ok {
		return
	}
	var body struct {
		A        string `json:"a"`
		B        string `json:"b"`
		Decision string `json:"decision"`
	}
	if _, ok := s.readJSON(w, r, &body); !ok {
		return
	}
	var vs kith.Violations
	for _, f := range []struct{ name, v string }{{"a", body.A}, {"b", body.B}} {
		if _, err := uuid.Parse(f.v); err != nil {
			vs = append(vs, violation(f.name, "invalid_id", "must be a contact id (a UUID)"))
		}
	}
	if body.Decision != "merge" && body.Decision != "keep_apart" {
		vs = append(vs, violation("decision", "invalid_choice", `must be "merge" or "keep_apart"`))
	}
	if len(vs) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "the request needs fixing", vs)
		return
	}
	if err := s.Reviews.DecideReview(r.Context(), body.A, body.B, body.Decision == "merge", "admin:"+actor); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "recorded", "decision": body.Decision})
}

// handleReplay serves POST /v1/admin/deliveries/{id}/replay with an admin key:
// a dead-lettered delivery sent again, and what became of it.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	actor, ok := s.requireAdmin(w, r)
	if !ok {
		return
	}
	res, err := s.Replays.ReplayDelivery(r.Context(), r.PathValue("id"), "admin:"+actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleUnmerge serves POST /v1/admin/merges/{id}/undo with an admin key: the
// merge record undone (the merged contact and its identities back, the
// survivor's fields as before), the pair kept apart from then on, and both
// contacts' workflows told.
func (s *Server) handleUnmerge(w http.ResponseWriter, r *http.Request) {
	actor, ok := s.requireAdmin(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "the request needs fixing",
			kith.Violations{violation("id", "invalid_id", "must be a merge record's number")})
		return
	}
	u, err := s.Unmerges.Unmerge(r.Context(), id, "admin:"+actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
