package dedup

import (
	"cmp"

	"github.com/kithhq/kith"
)

// GoldenRecord builds a cluster's record field by field, with the provenance of
// the value chosen. For each field, among the records that have a value, the
// survivorship rule kith.Prefer decides (provided over imputed, then the source's
// rank, then the most recent); its ties go to the most complete record, then the
// smallest id, so the result never depends on input order.
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
		value := func(r *Record) kith.Value {
			return kith.Value{Value: f.get(r), Provenance: kith.Provenance{
				Source: r.Source, Ref: r.ID, At: r.UpdatedAt, Imputed: r.Source == kith.SourceImputed}}
		}
		var best *Record
		for _, r := range members {
			if f.get(r) == "" {
				continue
			}
			if best == nil || cmp.Or(
				kith.Prefer(value(r), value(best)),
				cmp.Compare(complete(r), complete(best)),
				cmp.Compare(best.ID, r.ID),
			) > 0 {
				best = r
			}
		}
		if best != nil {
			g[f.field] = value(best)
		}
	}
	return g
}

// Golden is a cluster's best record, each field with the provenance of the
// record it came from.
type Golden map[kith.Field]kith.Value
