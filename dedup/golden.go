package dedup

import (
	"cmp"

	"github.com/kithhq/kith"
)

// GoldenRecord builds a cluster's record field by field, with the provenance of
// the value chosen. For each field, among the records that have a value, the
// survivorship rule kith.Prefer decides (provided over imputed, then the source's
// rank, then the most recent); its ties go to the most complete record, then the
// smallest id, so the result never depends on input order. The address fields
// (postal code, city, street address) are one group: they come from the record
// chosen for the postal code (or, without one, for the street address), and a
// field that record lacks only from a record with the same postal code — a
// street from one home and a postal code from another would be neither.
func GoldenRecord(members []*Record) Golden {
	complete := func(r *Record) int {
		n := 0
		for _, v := range []string{r.Email, r.Phone, r.FirstName, r.LastName, r.BirthDate, r.PostalCode, r.City, r.Address} {
			if v != "" {
				n++
			}
		}
		return n
	}
	value := func(r *Record, get func(*Record) string) kith.Value {
		return kith.Value{Value: get(r), Provenance: kith.Provenance{
			Source: r.Source, Ref: r.ID, At: r.UpdatedAt, Imputed: r.Source == kith.SourceImputed}}
	}
	best := func(get func(*Record) string, among func(*Record) bool) *Record {
		var b *Record
		for _, r := range members {
			if get(r) == "" || !among(r) {
				continue
			}
			if b == nil || cmp.Or(
				kith.Prefer(value(r, get), value(b, get)),
				cmp.Compare(complete(r), complete(b)),
				cmp.Compare(b.ID, r.ID),
			) > 0 {
				b = r
			}
		}
		return b
	}
	all := func(*Record) bool { return true }
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
	} {
		if b := best(f.get, all); b != nil {
			g[f.field] = value(b, f.get)
		}
	}
	postal := func(r *Record) string { return r.PostalCode }
	home := best(postal, all)
	if home == nil {
		home = best(func(r *Record) string { return r.Address }, all)
	}
	if home == nil {
		home = best(func(r *Record) string { return r.City }, all)
	}
	if home == nil {
		return g
	}
	sameHome := func(r *Record) bool {
		return home.PostalCode == "" || r.PostalCode == "" || r.PostalCode == home.PostalCode
	}
	for _, f := range []struct {
		field kith.Field
		get   func(*Record) string
	}{
		{kith.FieldPostalCode, postal},
		{kith.FieldCity, func(r *Record) string { return r.City }},
		{kith.FieldAddress, func(r *Record) string { return r.Address }},
	} {
		switch {
		case f.get(home) != "":
			g[f.field] = value(home, f.get)
		default:
			if b := best(f.get, sameHome); b != nil {
				g[f.field] = value(b, f.get)
			}
		}
	}
	return g
}

// Golden is a cluster's best record, each field with the provenance of the
// record it came from.
type Golden map[kith.Field]kith.Value
