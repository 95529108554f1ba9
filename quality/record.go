// Package quality validates and standardizes customer data, scores profile
// completeness and imputes missing fields. It is pure: no I/O, no clock (callers
// pass the time), no globals that change.
//
// Record is the one entry point every source uses (forms, imports, CRM sync,
// cleaning), so that every source behaves the same.
package quality

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kithhq/kith"
)

// Options configure standardization.
type Options struct {
	// DefaultRegion is the ISO country used to read phones and numeric dates when
	// the record has no country (e.g. "US"); empty means international form only.
	DefaultRegion string
	// Now is the day birth dates and ages are checked against.
	Now time.Time
	// MinAge and MaxAge bound a plausible age (defaults 13 and 120).
	MinAge, MaxAge int
	// Weights for the completeness score (default DefaultWeights).
	Weights Weights
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
	Fields map[kith.Field]string
	// Violations lists every problem found: rejects (the value was dropped) and
	// warnings (kept, but worth a look). They never contain the values.
	Violations   kith.Violations
	Completeness Completeness
}

// Record validates and standardizes one raw record: country first (phones, dates
// and postal codes are read by it), then email, phone (E.164, with its type and
// extension), names, birth date, age (in range, and agreeing with the birth date),
// city and postal code; then scores its completeness.
func Record(raw map[kith.Field]string, opts Options) Result {
	opts = opts.withDefaults()
	b := builder{raw: raw, r: Result{Fields: make(map[kith.Field]string, len(raw)+2)}}
	region := opts.DefaultRegion
	if v, ok := b.val(kith.FieldCountry); ok {
		c, vs := Country(v)
		b.keep(kith.FieldCountry, c, vs)
		if c != "" {
			region = c
		}
	}
	if v, ok := b.val(kith.FieldEmail); ok {
		e, vs := Email(v)
		b.keep(kith.FieldEmail, e, vs)
	}
	if v, ok := b.val(kith.FieldPhone); ok {
		p, vs := Phone(v, region)
		b.keep(kith.FieldPhone, p.E164, vs)
		if p.E164 != "" {
			b.keep(kith.FieldPhoneType, p.Type, nil)
			b.keep(kith.FieldPhoneExt, p.Extension, nil)
		}
	}
	for _, f := range [...]kith.Field{kith.FieldFirstName, kith.FieldLastName} {
		if v, ok := b.val(f); ok {
			n, vs := Name(v, f)
			b.keep(f, n, vs)
		}
	}
	var birth time.Time
	if v, ok := b.val(kith.FieldBirthDate); ok {
		d, vs := BirthDate(v, region, opts.Now, opts.MaxAge)
		iso := ""
		if birth = d.Time; !birth.IsZero() {
			iso = d.ISO()
		}
		b.keep(kith.FieldBirthDate, iso, vs)
	}
	if v, ok := b.val(kith.FieldAge); ok {
		a, vs := age(v, birth, opts)
		b.keep(kith.FieldAge, a, vs)
	}
	if v, ok := b.val(kith.FieldCity); ok {
		c, vs := Name(v, kith.FieldCity)
		b.keep(kith.FieldCity, c, vs)
	}
	if v, ok := b.val(kith.FieldPostalCode); ok {
		p, vs := PostalCode(v, b.r.Fields[kith.FieldCountry])
		b.keep(kith.FieldPostalCode, p, vs)
	}

	b.r.Completeness = score(opts.Weights, b.present, 0)
	return b.r
}

// builder collects a Result from a raw record.
type builder struct {
	raw     map[kith.Field]string
	r       Result
	present uint64 // bit i: kith.ProfileFields[i] has a value
}

// val returns the trimmed raw value of f, and whether there is one.
func (b *builder) val(f kith.Field) (string, bool) {
	v, ok := b.raw[f]
	if !ok {
		return "", false
	}
	if !utf8.ValidString(v) {
		b.r.Violations = append(b.r.Violations, reject(f, "not_utf8", "is not valid UTF-8 text"))
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

// keep records the violations of f and its standardized value, if any.
func (b *builder) keep(f kith.Field, v string, vs kith.Violations) {
	b.r.Violations = append(b.r.Violations, vs...)
	if v != "" {
		b.r.Fields[f] = v
		if i := fieldIndex(f); i >= 0 {
			b.present |= 1 << i
		}
	}
}

// fieldIndex is the index of f in kith.ProfileFields, or -1.
func fieldIndex(f kith.Field) int {
	for i, pf := range kith.ProfileFields {
		if pf == f {
			return i
		}
	}
	return -1
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
