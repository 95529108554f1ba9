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

// FillOnly is the survivorship of a merge decided from answers nobody
// verified (a web form, matched as it was written): the survivor keeps every
// value it has, and the merged contacts only fill what it lacks. Typing
// someone's name, phone and birth date beside one's own email and address must
// never redirect their mail or move their home; the new values stay with the
// person as identities and source records until a verified path confirms them.
func FillOnly(profile, survivor map[kith.Field]kith.Value) map[kith.Field]kith.Value {
	out := make(map[kith.Field]kith.Value, len(profile))
	for f, v := range profile {
		out[f] = v
	}
	for f, v := range survivor {
		if v.Value != "" {
			out[f] = v
		}
	}
	return out
}

// companions are profile fields that belong to a matched field's value and
// come from the same contact: a phone's type and extension, a birth date's
// age, a postal code's country.
var companions = []struct {
	of     kith.Field
	fields []kith.Field
}{
	{kith.FieldPhone, []kith.Field{kith.FieldPhoneType, kith.FieldPhoneExt}},
	{kith.FieldBirthDate, []kith.Field{kith.FieldAge}},
	{kith.FieldPostalCode, []kith.Field{kith.FieldCountry}},
}

// Profile is the survivor's whole profile after a merge: the golden record's
// values (with the provenance they had in the contact that gave them), the
// fields that go with them from that same contact, and every other field by
// the survivorship rule (kith.Prefer) among the contacts. Golden values name
// their contact in Provenance.Ref (a profile record's id is its contact's).
func Profile(g Golden, contacts []kith.Contact) map[kith.Field]kith.Value {
	byID := make(map[string]*kith.Contact, len(contacts))
	for i := range contacts {
		byID[contacts[i].ID] = &contacts[i]
	}
	out := make(map[kith.Field]kith.Value, len(kith.ProfileFields))
	decided := map[kith.Field]bool{}
	for _, f := range kith.SortedKeys(g) {
		v := g[f]
		decided[f] = true
		if c := byID[v.Provenance.Ref]; c != nil && c.Fields[f].Value == v.Value {
			v = c.Fields[f]
		}
		out[f] = v
	}
	for _, cp := range companions {
		src := byID[g[cp.of].Provenance.Ref]
		if _, ok := g[cp.of]; !ok || src == nil {
			continue
		}
		for _, f := range cp.fields {
			decided[f] = true
			if v := src.Fields[f]; v.Value != "" {
				out[f] = v
			}
		}
	}
	for _, f := range kith.ProfileFields {
		if decided[f] {
			continue
		}
		for i := range contacts {
			if v := contacts[i].Fields[f]; v.Value != "" && (out[f].Value == "" || kith.Prefer(v, out[f]) > 0) {
				out[f] = v
			}
		}
	}
	return out
}
