package quality_test

import (
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// Every parser: no panic on any input, and standardizing its own output gives the
// same output (standardizing twice equals standardizing once).

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"Ada@Example.com", "a@bücher.de", "\"q\"@x.io", "a@@b", "x@gmial.com", ".a@b.c", "a@xn--bcher-kva.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, _ := quality.Email(in)
		if out == "" {
			return
		}
		if again, vs := quality.Email(out); again != out || vs.Rejects() {
			t.Fatalf("Email(%q) = %q, then %q %v", in, out, again, vs)
		}
	})
}

func FuzzPhone(f *testing.F) {
	for _, s := range [][2]string{{"412 34 567", "NO"}, {"+1 650 253 0000 x12", ""}, {"(650) 253-0000", "US"}, {"0", "ZZ"}, {"+", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, in, region string) {
		p, _ := quality.Phone(in, region)
		if p.E164 == "" {
			return
		}
		if again, vs := quality.Phone(p.E164, ""); again.E164 != p.E164 || vs.Rejects() {
			t.Fatalf("Phone(%q, %q) = %q, then %q %v", in, region, p.E164, again.E164, vs)
		}
	})
}

func FuzzDate(f *testing.F) {
	for _, s := range [][2]string{{"03/04/2020", "US"}, {"3 April 2020", ""}, {"1585872000", ""}, {"2020-02-30", ""}, {"31.12.1999", "DE"}, {"2020-01-01T", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, in, region string) {
		d, _ := quality.ParseDate(in, region, kith.FieldBirthDate)
		if d.Time.IsZero() {
			return
		}
		again, vs := quality.ParseDate(d.ISO(), region, kith.FieldBirthDate)
		if again.ISO() != d.ISO() || len(vs) != 0 {
			t.Fatalf("ParseDate(%q) = %s, then %s %v", in, d.ISO(), again.ISO(), vs)
		}
	})
}

func FuzzName(f *testing.F) {
	for _, s := range []string{"o'neill", "LUDWIG VAN DER BERG", "smith-jones", "McDonald", "  a  b ", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, vs := quality.Name(in, kith.FieldLastName)
		if vs.Rejects() || out == "" {
			return
		}
		if again, vs := quality.Name(out, kith.FieldLastName); again != out || vs.Rejects() {
			t.Fatalf("Name(%q) = %q, then %q %v", in, out, again, vs)
		}
	})
}

func FuzzCountry(f *testing.F) {
	for _, s := range []string{"Norway", "u.s.a.", "GBR", "Côte d’Ivoire", "the netherlands", "  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, _ := quality.Country(in)
		if out == "" {
			return
		}
		if again, vs := quality.Country(out); again != out || len(vs) != 0 {
			t.Fatalf("Country(%q) = %q, then %q %v", in, out, again, vs)
		}
	})
}

func FuzzPostalCode(f *testing.F) {
	for _, s := range [][2]string{{"sw1a1aa", "GB"}, {"123456789", "US"}, {"1234ab", "NL"}, {"d6w", "IE"}, {"x", "ZW"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, in, country string) {
		out, _ := quality.PostalCode(in, country)
		if out == "" {
			return
		}
		if again, vs := quality.PostalCode(out, country); again != out || len(vs) != 0 {
			t.Fatalf("PostalCode(%q, %q) = %q, then %q %v", in, country, out, again, vs)
		}
	})
}

func FuzzAddress(f *testing.F) {
	for _, s := range []string{"12 HIGH ST", "Hauptstr. 5", "Flat 2\n10 downing st.", "rue de la paix 3", "St Johns Road 4", "  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, vs := quality.Address(in)
		if vs.Rejects() || out == "" {
			return
		}
		if again, vs := quality.Address(out); again != out || vs.Rejects() {
			t.Fatalf("Address(%q) = %q, then %q %v", in, out, again, vs)
		}
	})
}

func FuzzRecord(f *testing.F) {
	f.Add("Ada@Example.com", "412 34 567", "ada", "10.12.1990", "Norway", "0150", "35", "12 high st")
	f.Add("mailto:ada@example.com", "020 7946 0018", "ada", "", "", "SW1A 1AA", "", "")
	f.Add("ada@example.com", "+1 416 555 0199", "ada", "", "", "10115", "", "")
	f.Fuzz(func(t *testing.T, email, phone, name, birth, country, postal, age, address string) {
		opts := quality.Options{Now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), DefaultRegion: "GB"}
		r := quality.Record(map[kith.Field]string{"email": email, "phone": phone, "first_name": name,
			"birth_date": birth, "country": country, "postal_code": postal, "age": age, "address": address}, opts)
		// Standardized again as the Cleaning does: the values the record gave,
		// not those Record inferred (a country from the phone's prefix).
		given := map[kith.Field]string{}
		for f, v := range r.Values(kith.Provenance{}, nil) {
			if !v.Imputed {
				given[f] = v.Value
			}
		}
		again := quality.Record(given, opts)
		if again.Violations.Rejects() || again.Fields != r.Fields {
			t.Fatalf("Record(%v) = %v, then %v %v", []string{email, phone, name, birth, country, postal, age, address}, r.Fields, again.Fields, again.Violations)
		}
	})
}
