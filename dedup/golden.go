package dedup

import (
	"cmp"

	"github.com/kithhq/kith"
)

// sourceRank orders sources for survivorship: a CRM's value beats a form's, a
// form's an import's, and anything beats an imputed value.
var sourceRank = map[kith.Source]int{
	kith.SourceCRM: 4, kith.SourceForm: 3, kith.SourceImport: 2, kith.SourceTracker: 1, kith.SourceImputed: 0,
}

// GoldenRecord builds a cluster's record field by field, with the provenance of
// the value chosen. For each field, among the records that have a value: the
// highest-ranked source wins (CRM > form > import > tracker > imputed); then the
// most recently updated record; then the most complete record; then the smallest
// id, so the result never depends on input order.
func GoldenRecord(members []*Record) Golden {
	complete := func(r *Record) int {
		n := 0
		for _, v := range []string{r.Email, r.Phone, r.FirstName, r.LastName, r.BirthDate, r.PostalCode, r.City} {
			if v != "" {
				n++
			}
		}
		return n
	}
	g := Golden{}
	for _, f := range []struct {
		field kith.Field
		get   func(*Record) string
	}{
		{kith.FieldEmail, func(r *Record) string { return r.Email }},
		{kith.FieldPhone, func(r *Record) string { return r.Phone }},
		{kith.FieldFirstName, func(r *Record) string { return r.FirstName }},
		{kith.FieldLastName, func(r *Record) string { return r.LastName }},
		{kith.FieldBirthDate, func(r *Record) string { return r.BirthDate }},
		{kith.FieldPostalCode, func(r *Record) string { return r.PostalCode }},
		{kith.FieldCity, func(r *Record) string { return r.City }},
	} {
		var best *Record
		for _, r := range members {
			if f.get(r) == "" {
				continue
			}
			if best == nil || cmp.Or(
				cmp.Compare(sourceRank[r.Source], sourceRank[best.Source]),
				r.UpdatedAt.Compare(best.UpdatedAt),
				cmp.Compare(complete(r), complete(best)),
				cmp.Compare(best.ID, r.ID),
			) > 0 {
				best = r
			}
		}
		if best != nil {
			g[f.field] = kith.Value{Value: f.get(best), Provenance: kith.Provenance{
				Source: best.Source, Ref: best.ID, At: best.UpdatedAt, Imputed: best.Source == kith.SourceImputed}}
		}
	}
	return g
}
