package httpapi

import (
	"net/http"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// validateBody asks whether one field's value is acceptable, as the person types.
type validateBody struct {
	Field   string `json:"field"`
	Value   string `json:"value"`
	Country string `json:"country,omitempty"` // reads national phones, dates and postal codes
}

type validateResponse struct {
	Field      string          `json:"field"`
	Valid      bool            `json:"valid"`
	Value      string          `json:"value,omitempty"` // the standardized value
	Violations kith.Violations `json:"violations,omitempty"`
}

func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	var body validateBody
	if _, ok := s.readJSON(w, r, &body); !ok {
		return
	}
	f, ok := kith.ParseField(body.Field)
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "the request needs fixing",
			kith.Violations{violation("field", "unknown_field", "is not a profile field")})
		return
	}
	raw := map[kith.Field]string{f: body.Value}
	if body.Country != "" && f != kith.FieldCountry {
		raw[kith.FieldCountry] = body.Country
	}
	opts := s.Quality
	opts.Now = s.Now()
	res := quality.Record(raw, opts)
	out := validateResponse{Field: body.Field, Value: res.Fields.Get(f), Valid: true}
	for _, v := range res.Violations {
		if v.Field == body.Field {
			out.Violations = append(out.Violations, v)
			out.Valid = out.Valid && v.Severity != kith.SeverityReject
		}
	}
	if body.Value == "" {
		out.Valid = false
		out.Violations = append(out.Violations, violation(body.Field, "required", "is empty"))
	}
	writeJSON(w, http.StatusOK, out)
}
