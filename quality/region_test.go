package quality_test

import (
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// A national phone on a record without a country is read in the region the
// record's other values point to, in order, and the inference is kept with it.
func TestPhoneRegionInference(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name          string
		raw           map[kith.Field]string
		region        string // the source's default region
		regions       []string
		phone, code   string // the E.164 read, and the warning's code ("" none)
		how, country  string // what the phone's provenance says, and the country kept
		countryMethod string
	}{
		{"the record's country", map[kith.Field]string{"phone": "020 7946 0018", "country": "United Kingdom"}, "US", nil,
			"+442079460018", "", "", "GB", ""},
		{"a UK postcode", map[kith.Field]string{"phone": "020 7946 0018", "postal_code": "sw1a 1aa"}, "US", nil,
			"+442079460018", "phone_region_from_postal_code", "region GB from postal code", "GB", "phone_prefix"},
		{"a Dutch postcode", map[kith.Field]string{"phone": "06 12345678", "postal_code": "1012 AB"}, "", nil,
			"+31612345678", "phone_region_from_postal_code", "region NL from postal code", "NL", "phone_prefix"},
		{"the source's default region", map[kith.Field]string{"phone": "412 34 567", "postal_code": "0150"}, "NO", nil,
			"+4741234567", "phone_region_from_default", "region NO from default region", "NO", "phone_prefix"},
		{"valid in one of the source's regions only", map[kith.Field]string{"phone": "020 7946 0018"}, "", []string{"NO", "GB", "US"},
			"+442079460018", "phone_region_guessed", "region GB from the one plausible region", "GB", "phone_prefix"},
		{"the US and Canada read the same number", map[kith.Field]string{"phone": "(416) 555-0199"}, "", []string{"US", "CA", "NO"},
			"+14165550199", "phone_region_guessed", "region US from the one plausible region", "CA", "phone_prefix"},
		{"international form needs no region", map[kith.Field]string{"phone": "+47 412 34 567"}, "", nil,
			"+4741234567", "", "", "NO", "phone_prefix"},
		{"a stated country is never replaced", map[kith.Field]string{"phone": "+47 412 34 567", "country": "DE"}, "", nil,
			"+4741234567", "", "", "DE", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := quality.Record(c.raw, quality.Options{DefaultRegion: c.region, Regions: c.regions, Now: now})
			if got := r.Fields.Get(kith.FieldPhone); got != c.phone {
				t.Fatalf("phone = %q (%v), want %q", got, r.Violations, c.phone)
			}
			if r.Violations.Rejects() {
				t.Errorf("rejects: %v", r.Violations)
			}
			code := ""
			for _, v := range r.Violations {
				if v.Field == "phone" {
					code = v.Code
				}
			}
			if code != c.code {
				t.Errorf("warning = %q, want %q", code, c.code)
			}
			vals := r.Values(kith.Provenance{Source: kith.SourceImport}, nil)
			if got := vals[kith.FieldPhone].Method; got != c.how {
				t.Errorf("phone method = %q, want %q", got, c.how)
			}
			country := vals[kith.FieldCountry]
			if country.Value != c.country || country.Method != c.countryMethod || country.Imputed != (c.countryMethod != "") {
				t.Errorf("country = %+v, want %s inferred by %q", country, c.country, c.countryMethod)
			}
		})
	}
	// Ambiguous: a national number valid in several plausible regions, read
	// differently in each, stays refused.
	r := quality.Record(map[kith.Field]string{"phone": "020 7946 0018"}, quality.Options{Now: now, Regions: []string{"GB", "FI", "IT"}})
	if r.Fields.Get(kith.FieldPhone) != "" || !r.Violations.Rejects() {
		t.Errorf("ambiguous national number: %v %v", r.Fields, r.Violations)
	}
	// An inferred country never checks the postal code: the phone says where the
	// phone is from, not the address.
	r = quality.Record(map[kith.Field]string{"phone": "+1 416 555 0199", "postal_code": "10115"}, quality.Options{Now: now})
	if r.Fields.Get(kith.FieldPostalCode) != "10115" || r.Violations.Rejects() {
		t.Errorf("postal code checked against an inferred country: %v %v", r.Fields, r.Violations)
	}
}

func TestPostalRegion(t *testing.T) {
	for in, want := range map[string]string{
		"SW1A 1AA": "GB", "ec1a1bb": "GB", "K1A 0B1": "CA", "1012 AB": "NL", "D02 X285": "IE",
		"00-950": "PL", "1000-001": "PT", "100-0001": "JP", "01310-100": "BR", "94105-1234": "US",
		"10115": "", "0150": "", "": "", "hello": "",
	} {
		if got := quality.PostalRegion(in); got != want {
			t.Errorf("PostalRegion(%q) = %q, want %q", in, got, want)
		}
	}
}
