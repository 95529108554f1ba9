// Package quality validates and standardizes customer data, scores profile
// completeness and imputes missing fields. It is pure: no I/O, no clock (callers
// pass the time), no globals that change.
//
// Record is the one entry point every source uses (forms, imports, CRM sync,
// cleaning), so that every source behaves the same.
package quality

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers/v2"

	"github.com/kithhq/kith"
)

// Options configure standardization.
type Options struct {
	// DefaultRegion is the ISO country used to read phones and numeric dates when
	// the record has no country (e.g. "US"); empty means international form only.
	DefaultRegion string
	// Regions are where this source's contacts live (e.g. a shop's markets): a
	// national phone on a record without a country that is valid in exactly one
	// of them is read there, with a warning. Empty: no guessing.
	Regions []string
	// Now is the day birth dates and ages are checked against.
	Now time.Time
	// MinAge and MaxAge bound a plausible age (defaults 13 and 120).
	MinAge, MaxAge int
	// Weights for the completeness score (default DefaultWeights).
	Weights Weights
}

// ForContact returns the options that read a contact's new values: its known
// country, when it has one, is the region for phones and numeric dates. The HTTP
// API and the contact workflow's validator both read submissions through it.
func (o Options) ForContact(known map[kith.Field]kith.Value) Options {
	if c := known[kith.FieldCountry].Value; c != "" {
		o.DefaultRegion = c
	}
	return o
}

func (o Options) withDefaults() Options {
	if o.MinAge == 0 {
		o.MinAge = 13
	}
	if o.MaxAge == 0 {
		o.MaxAge = 120
	}
	if o.Weights == nil {
		o.Weights = DefaultWeights
	}
	if o.Now.IsZero() {
		o.Now = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) // no clock here: callers pass Now
	}
	return o
}

// Result is a standardized record.
type Result struct {
	// Fields holds the standardized values; rejected and empty ones are absent.
	Fields Fields
	// Violations lists every problem found: rejects (the value was dropped) and
	// warnings (kept, but worth a look). They never contain the values.
	Violations   kith.Violations
	Completeness Completeness
	// how holds, by field index, how a value was read or inferred when the record
	// did not say: the phone's region ("region NO from postal_code") or a country
	// inferred from the phone's prefix ("phone_prefix").
	how [nProfileFields]string
	// inferred marks values the record did not hold but Record derived (imputed).
	inferred uint64
}

// Values are the result's standardized fields with their provenance: the one way
// every source ("standardize and keep provenance") turns a result into profile
// values. A field of kept (a stored contact being re-standardized) keeps its own
// provenance; any other field (new input, or a value derived now, like the phone
// type) gets p.
func (r Result) Values(p kith.Provenance, kept map[kith.Field]kith.Value) map[kith.Field]kith.Value {
	out := make(map[kith.Field]kith.Value, r.Fields.Len())
	for f, v := range r.Fields.All() {
		prov := p
		if old, ok := kept[f]; ok && old.Source != "" {
			prov = old.Provenance
		} else if i := fieldIndex(f); r.how[i] != "" {
			prov.Method = r.how[i]
			prov.Imputed = r.inferred&(1<<i) != 0
			if prov.Imputed {
				prov.Confidence = 1
			}
		}
		out[f] = kith.Value{Value: v, Provenance: prov}
	}
	return out
}

// Record validates and standardizes one raw record: country first (phones, dates
// and postal codes are read by it), then email, phone (E.164, with its type and
// extension), names, birth date, age (in range, and agreeing with the birth date),
// city, postal code and street address; then scores its completeness.
func Record(raw map[kith.Field]string, opts Options) Result {
	opts = opts.withDefaults()
	var b builder
	// One pass instead of a lookup per field. Each value lands in its field's
	// slot, so the map's order never shows (workflows call Record).
	//workflowcheck:ignore
	for f, v := range raw {
		if i := fieldIndex(f); i >= 0 {
			b.raw[i], b.given = v, b.given|1<<i
		}
	}
	region, from := opts.DefaultRegion, "default region"
	stated := ""
	if v, ok := b.val(iCountry); ok {
		c, vs := Country(v)
		b.keep(iCountry, c, vs)
		if c != "" {
			region, from, stated = c, "", c
		}
	}
	if from != "" {
		if v, ok := b.val(iPostalCode); ok {
			if c := PostalRegion(v); c != "" {
				region, from = c, "postal code"
			}
		}
	}
	if v, ok := b.val(iEmail); ok {
		e, vs := Email(v)
		b.keep(iEmail, e, vs)
	}
	if v, ok := b.val(iPhone); ok {
		b.phone(v, region, from, opts.Regions)
	}
	for _, i := range [...]int{iFirstName, iLastName} {
		if v, ok := b.val(i); ok {
			n, vs := Name(v, kith.ProfileFields[i])
			b.keep(i, n, vs)
		}
	}
	var birth ParsedDate
	if v, ok := b.val(iBirthDate); ok {
		var vs kith.Violations
		birth, vs = BirthDate(v, region, opts.Now, opts.MaxAge)
		iso := ""
		if !birth.Time.IsZero() {
			iso = birth.ISO()
		}
		b.keep(iBirthDate, iso, vs)
	}
	if v, ok := b.val(iAge); ok {
		a, vs := age(v, birth.Time, opts)
		b.keep(iAge, a, vs)
	}
	if v, ok := b.val(iCity); ok {
		c, vs := Name(v, kith.FieldCity)
		b.keep(iCity, c, vs)
	}
	if v, ok := b.val(iPostalCode); ok {
		// Checked against the stated country only: one inferred from the phone
		// says where the phone is from, not the address.
		p, vs := PostalCode(v, stated)
		b.keep(iPostalCode, p, vs)
	}
	if v, ok := b.val(iAddress); ok {
		a, vs := Address(v)
		b.keep(iAddress, a, vs)
	}

	b.r.Completeness = score(opts.Weights, b.present, 0)
	return b.r
}

// Indexes of the profile fields in kith.ProfileFields (held to it by a test).
const (
	iEmail = iota
	iPhone
	iPhoneType
	iPhoneExt
	iFirstName
	iLastName
	iBirthDate
	iAge
	iCountry
	iCity
	iPostalCode
	iAddress
	nProfileFields
)

// fieldIndex is the index of f in kith.ProfileFields, or -1.
func fieldIndex(f kith.Field) int {
	switch f {
	case kith.FieldEmail:
		return iEmail
	case kith.FieldPhone:
		return iPhone
	case kith.FieldPhoneType:
		return iPhoneType
	case kith.FieldPhoneExt:
		return iPhoneExt
	case kith.FieldFirstName:
		return iFirstName
	case kith.FieldLastName:
		return iLastName
	case kith.FieldBirthDate:
		return iBirthDate
	case kith.FieldAge:
		return iAge
	case kith.FieldCountry:
		return iCountry
	case kith.FieldCity:
		return iCity
	case kith.FieldPostalCode:
		return iPostalCode
	case kith.FieldAddress:
		return iAddress
	}
	return -1
}

// Fields are a standardized record's values by profile field, held in an array
// rather than a map: Record builds one per record on every path, and a map was a
// third of its cost beside the phone parse. An empty value means absent.
type Fields struct{ v [nProfileFields]string }

// Get returns the value of f, or "" when it has none.
func (fs Fields) Get(f kith.Field) string {
	if i := fieldIndex(f); i >= 0 {
		return fs.v[i]
	}
	return ""
}

// Len is the number of fields with a value.
func (fs Fields) Len() int {
	n := 0
	for _, v := range fs.v {
		if v != "" {
			n++
		}
	}
	return n
}

// All yields the fields with a value, in kith.ProfileFields order.
func (fs Fields) All() iter.Seq2[kith.Field, string] {
	return func(yield func(kith.Field, string) bool) {
		for i, v := range fs.v {
			if v != "" && !yield(kith.ProfileFields[i], v) {
				return
			}
		}
	}
}

// Map returns the fields with a value as a map.
func (fs Fields) Map() map[kith.Field]string {
	m := make(map[kith.Field]string, fs.Len())
	for f, v := range fs.All() {
		m[f] = v
	}
	return m
}

// String prints the fields like a map, for messages and tests.
func (fs Fields) String() string { return fmt.Sprint(fs.Map()) }

// builder collects a Result from a raw record.
type builder struct {
	raw     [nProfileFields]string // the raw values by field index
	given   uint64                 // bit i: raw[i] was in the record
	r       Result
	present uint64 // bit i: kith.ProfileFields[i] has a standardized value
}

// val returns the trimmed raw value of field i, and whether there is one.
func (b *builder) val(i int) (string, bool) {
	if b.given&(1<<i) == 0 {
		return "", false
	}
	v := b.raw[i]
	if !utf8.ValidString(v) {
		b.r.Violations = append(b.r.Violations, reject(kith.ProfileFields[i], "not_utf8", "is not valid UTF-8 text"))
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

// phone reads a phone number. A national number (no country code) is read in
// region, which came from the record's country or, when from says so, from the
// postal code's format or the source's default region; on a record without a
// country, a number valid nowhere there but in exactly one of the source's
// regions is read there. Either inference is a warning and is recorded with the
// value. A record without a country takes the one its phone's prefix belongs to,
// flagged as inferred.
func (b *builder) phone(v, region, from string, regions []string) {
	var n phonenumbers.PhoneNumber
	p, vs := parsePhone(v, region, &n)
	national := !international(v)
	switch {
	case p.E164 == "" && national && from != "": // never against a stated country
		if g := guessRegion(v, region, regions); g != "" {
			p, _ = parsePhone(v, g, &n)
			region, from = g, "the one plausible region"
			vs = kith.Violations{warn(kith.FieldPhone, "phone_region_guessed",
				"has no country code; it is valid only in "+g+", so it was read there")}
		}
	case p.E164 != "" && national && from != "":
		code := "phone_region_from_default"
		if from == "postal code" {
			code = "phone_region_from_postal_code"
		}
		vs = append(vs, warn(kith.FieldPhone, code, "has no country code and the record no country; read in "+region+" (from the "+from+")"))
	}
	b.keep(iPhone, p.E164, vs)
	if p.E164 == "" {
		return
	}
	if national && from != "" {
		b.r.how[iPhone] = "region " + region + " from " + from
	}
	b.keep(iPhoneType, p.Type, nil)
	b.keep(iPhoneExt, p.Extension, nil)
	if b.r.Fields.v[iCountry] == "" {
		if c := regionOf(&n); c != "" {
			b.keep(iCountry, c, nil)
			b.r.how[iCountry] = "phone_prefix"
			b.r.inferred |= 1 << iCountry
		}
	}
}

// keep records the violations of field i and its standardized value, if any.
func (b *builder) keep(i int, v string, vs kith.Violations) {
	b.r.Violations = append(b.r.Violations, vs...)
	if v != "" {
		b.r.Fields.v[i] = v
		b.present |= 1 << i
	}
}

// age checks a stated age: a whole number within [MinAge, MaxAge] that agrees
// (within a year) with the birth date when one is known.
func age(v string, birth time.Time, opts Options) (string, kith.Violations) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return "", kith.Violations{reject(kith.FieldAge, "invalid_age", "must be a whole number of years")}
	}
	if n < opts.MinAge || n > opts.MaxAge {
		return "", kith.Violations{reject(kith.FieldAge, "implausible_age",
			"must be between "+strconv.Itoa(opts.MinAge)+" and "+strconv.Itoa(opts.MaxAge))}
	}
	if !birth.IsZero() {
		if d := AgeOn(birth, opts.Now) - n; d > 1 || d < -1 {
			return "", kith.Violations{reject(kith.FieldAge, "age_contradicts_birth_date", "does not agree with the birth date")}
		}
	}
	return strconv.Itoa(n), nil
}
