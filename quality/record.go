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
	r := Result{Fields: make(map[kith.Field]string, len(raw))}
	val := func(f kith.Field) (string, bool) {
		v, ok := raw[f]
		if !ok {
			return "", false
		}
		if !utf8.ValidString(v) {
			r.Violations = append(r.Violations, reject(f, "not_utf8", "is not valid UTF-8 text"))
			return "", false
		}
		v = strings.TrimSpace(v)
		return v, v != ""
	}
	keep := func(f kith.Field) func(string, kith.Violations) {
		return func(v string, vs kith.Violations) {
			r.Violations = append(r.Violations, vs...)
			if v != "" {
				r.Fields[f] = v
			}
		}
	}

	region := opts.DefaultRegion
	if v, ok := val(kith.FieldCountry); ok {
		c, vs := Country(v)
		keep(kith.FieldCountry)(c, vs)
		if c != "" {
			region = c
		}
	}
	if v, ok := val(kith.FieldEmail); ok {
		keep(kith.FieldEmail)(Email(v))
	}
	if v, ok := val(kith.FieldPhone); ok {
		p, vs := Phone(v, region)
		keep(kith.FieldPhone)(p.E164, vs)
		if p.E164 != "" {
			keep(kith.FieldPhoneType)(p.Type, nil)
			keep(kith.FieldPhoneExt)(p.Extension, nil)
		}
	}
	for _, f := range []kith.Field{kith.FieldFirstName, kith.FieldLastName} {
		if v, ok := val(f); ok {
			keep(f)(Name(v, f))
		}
	}
	var birth time.Time
	if v, ok := val(kith.FieldBirthDate); ok {
		d, vs := BirthDate(v, region, opts.Now, opts.MaxAge)
		iso := ""
		if birth = d.Time; !birth.IsZero() {
			iso = d.ISO()
		}
		keep(kith.FieldBirthDate)(iso, vs)
	}
	if v, ok := val(kith.FieldAge); ok {
		keep(kith.FieldAge)(age(v, birth, opts))
	}
	if v, ok := val(kith.FieldCity); ok {
		keep(kith.FieldCity)(Name(v, kith.FieldCity))
	}
	if v, ok := val(kith.FieldPostalCode); ok {
		keep(kith.FieldPostalCode)(PostalCode(v, r.Fields[kith.FieldCountry]))
	}

	provided := make(map[kith.Field]kith.Value, len(r.Fields))
	for f, v := range r.Fields {
		provided[f] = kith.Value{Value: v}
	}
	r.Completeness = Score(provided, opts.Weights)
	return r
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
