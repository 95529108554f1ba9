package quality_test

import (
	"slices"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers/v2"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

func codes(vs kith.Violations) []string {
	var c []string
	for _, v := range vs {
		c = append(c, v.Code)
	}
	return c
}

func TestEmail(t *testing.T) {
	tests := []struct {
		in, want string
		codes    []string
	}{
		{"  Ada@Example.COM ", "ada@example.com", nil},
		{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", nil},
		{"o'brien@example.ie", "o'brien@example.ie", nil},
		{"user@bücher.de", "user@xn--bcher-kva.de", nil},
		{"user@xn--bcher-kva.de", "user@xn--bcher-kva.de", nil},
		{"ada.example.com", "", []string{"no_email_address"}},
		{"a@@example.com", "", []string{"invalid_email"}},
		{"a@b@example.com", "", []string{"invalid_email"}},
		{".ada@example.com", "", []string{"invalid_email"}},
		{"ada.@example.com", "", []string{"invalid_email"}},
		{"a..da@example.com", "", []string{"invalid_email"}},
		{`"ada lovelace"@example.com`, "", []string{"invalid_email"}},
		{"ada lovelace@example.com", "", []string{"invalid_email"}},
		{"ada@localhost", "", []string{"invalid_email_domain"}},
		{"ada@[192.168.0.1]", "", []string{"invalid_email_domain"}},
		{"ada@-example.com", "", []string{"invalid_email_domain"}},
		{"ada@example.c", "", []string{"invalid_email_domain"}},
		{"ada@example.123", "", []string{"invalid_email_domain"}},
		{"ada@exa_mple.com", "", []string{"invalid_email_domain"}},
		{string(make65a()) + "@example.com", "", []string{"email_too_long"}},
		{"ada@gmial.com", "ada@gmial.com", []string{"email_domain_typo"}},
		{"ada@hotmial.com", "ada@hotmial.com", []string{"email_domain_typo"}},
		{"ada@gmail.con", "ada@gmail.con", []string{"email_domain_typo"}},
		{"ada@gmail.com", "ada@gmail.com", nil},
		{"info@example.com", "info@example.com", []string{"role_address"}},
		{"x@mailinator.com", "x@mailinator.com", []string{"disposable_address"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, vs := quality.Email(tt.in)
			if got != tt.want || !slices.Equal(codes(vs), tt.codes) {
				t.Errorf("Email(%q) = %q %v, want %q %v", tt.in, got, codes(vs), tt.want, tt.codes)
			}
		})
	}
	_, vs := quality.Email("ada@gmial.com")
	if vs[0].Suggestion != "ada@gmail.com" || vs[0].Severity != kith.SeverityWarn {
		t.Errorf("typo suggestion = %+v", vs[0])
	}
}

func make65a() []byte {
	b := make([]byte, 65)
	for i := range b {
		b[i] = 'a'
	}
	return b
}

func TestPhoneRegions(t *testing.T) {
	tests := []struct {
		in, region, want, typ string
	}{
		{"(123) 456-7890", "US", "", ""}, // no area code starts with 1
		{"(650) 253-0000", "US", "+16502530000", "fixed_line_or_mobile"},
		{"+1 650 253 0000", "", "+16502530000", "fixed_line_or_mobile"},
		{"020 7946 0018", "GB", "+442079460018", "fixed_line"},
		{"07400 123456", "GB", "+447400123456", "mobile"},
		{"412 34 567", "NO", "+4741234567", "mobile"},
		{"22 33 44 55", "NO", "+4722334455", "fixed_line"},
		{"030 1234567", "DE", "+49301234567", "fixed_line"},
		{"0151 23456789", "DE", "+4915123456789", "mobile"},
		{"01 23 45 67 89", "FR", "+33123456789", "fixed_line"},
		{"06 12 34 56 78", "FR", "+33612345678", "mobile"},
		{"020 123 4567", "NL", "+31201234567", "fixed_line"},
		{"06 12345678", "NL", "+31612345678", "mobile"},
		{"08-123 456 78", "SE", "+46812345678", "fixed_line"},
		{"32 12 34 56", "DK", "+4532123456", "fixed_line_or_mobile"},
		{"09 1234567", "FI", "+35891234567", "fixed_line"},
		{"612 34 56 78", "ES", "+34612345678", "mobile"},
		{"06 1234 5678", "IT", "+390612345678", "fixed_line"},
		{"044 668 18 00", "CH", "+41446681800", "fixed_line"},
		{"01 234567", "AT", "+431234567", "fixed_line"},
		{"012 34 56 78", "BE", "+3212345678", "fixed_line"},
		{"12 345 67 89", "PL", "+48123456789", "fixed_line"},
		{"21 234 5678", "PT", "+351212345678", "fixed_line"},
		{"(02) 9876 5432", "AU", "+61298765432", "fixed_line"},
		{"0412 345 678", "AU", "+61412345678", "mobile"},
		{"03-1234-5678", "JP", "+81312345678", "fixed_line"},
		{"98765 43210", "IN", "+919876543210", "mobile"},
		{"(11) 91234-5678", "BR", "+5511912345678", "mobile"},
		{"(123) 456-7890", "CA", "", ""},
		{"(613) 990-1234", "CA", "+16139901234", "fixed_line_or_mobile"},
		{"55 1234 5678", "MX", "+525512345678", "fixed_line_or_mobile"},
		{"010-1234-5678", "KR", "+821012345678", "mobile"},
		{"021 123 4567", "ZA", "+27211234567", "fixed_line"},
		{"9123 4567", "SG", "+6591234567", "mobile"},
		{"12345", "NO", "", ""},
		{"not a phone", "US", "", ""},
		{"0412 345 678", "", "", ""}, // national form without a region
	}
	regions := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.region+" "+tt.in, func(t *testing.T) {
			got, vs := quality.Phone(tt.in, tt.region)
			if got.E164 != tt.want || got.Type != tt.typ {
				t.Errorf("Phone(%q, %q) = %+v %v, want %q %q", tt.in, tt.region, got, codes(vs), tt.want, tt.typ)
			}
			if tt.want == "" && (len(vs) != 1 || vs[0].Code != "invalid_phone" || vs[0].Severity != kith.SeverityReject) {
				t.Errorf("violations = %+v, want one invalid_phone reject", vs)
			}
		})
		if tt.want != "" && tt.region != "" {
			regions[tt.region] = true
		}
	}
	if len(regions) < 20 {
		t.Errorf("valid numbers cover %d regions, want at least 20", len(regions))
	}
}

func TestPhoneExtension(t *testing.T) {
	got, vs := quality.Phone("+1 650-253-0000 ext. 123", "")
	if got.E164 != "+16502530000" || got.Extension != "123" || len(vs) != 0 {
		t.Errorf("got %+v %v", got, vs)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in, region, want string
		guessed          bool
		codes            []string
	}{
		{"2020-04-03", "", "2020-04-03", false, nil},
		{"2020-04-03T10:11:12Z", "", "2020-04-03", false, nil},
		{"20200403", "", "2020-04-03", false, nil},
		{"2020/04/03", "", "2020-04-03", false, nil},
		{"03.04.2020", "US", "2020-04-03", false, nil}, // dots are always day first
		{"03/04/2020", "GB", "2020-04-03", true, []string{"ambiguous_date"}},
		{"03/04/2020", "US", "2020-03-04", true, []string{"ambiguous_date"}},
		{"03/04/2020", "", "2020-04-03", true, []string{"ambiguous_date"}},
		{"13/04/2020", "US", "2020-04-13", false, nil}, // 13 cannot be a month
		{"04/13/2020", "GB", "2020-04-13", false, nil},
		{"04/04/2020", "US", "2020-04-04", false, nil}, // both readings agree
		{"3 April 2020", "", "2020-04-03", false, nil},
		{"April 3rd, 2020", "", "2020-04-03", false, nil},
		{"03-Apr-2020", "", "2020-04-03", false, nil},
		{"Sept 30 1999", "", "1999-09-30", false, nil},
		{"1585872000", "", "2020-04-03", false, nil},
		{"2021-02-29", "", "", false, []string{"invalid_date"}},
		{"31/04/2020", "GB", "", false, []string{"invalid_date"}},
		{"2020-13-01", "", "", false, []string{"invalid_date"}},
		{"03/04/20", "GB", "", false, []string{"invalid_date"}},
		{"yesterday", "", "", false, []string{"invalid_date"}},
		{"31 Foo 2020", "", "", false, []string{"invalid_date"}},
	}
	for _, tt := range tests {
		t.Run(tt.region+" "+tt.in, func(t *testing.T) {
			d, vs := quality.ParseDate(tt.in, tt.region, kith.FieldBirthDate)
			got := ""
			if !d.Time.IsZero() {
				got = d.ISO()
			}
			if got != tt.want || d.Guessed != tt.guessed || !slices.Equal(codes(vs), tt.codes) {
				t.Errorf("ParseDate(%q, %q) = %q guessed=%v %v, want %q %v %v", tt.in, tt.region, got, d.Guessed, codes(vs), tt.want, tt.guessed, tt.codes)
			}
		})
	}
}

func TestBirthDateAndAge(t *testing.T) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	opts := quality.Options{Now: now}
	tests := []struct {
		birth, age string
		want       map[kith.Field]string
		codes      []string
	}{
		{"1990-12-10", "35", map[kith.Field]string{"birth_date": "1990-12-10", "age": "35"}, nil},
		{"1990-12-10", "36", map[kith.Field]string{"birth_date": "1990-12-10", "age": "36"}, nil}, // within a year
		{"1990-12-10", "50", map[kith.Field]string{"birth_date": "1990-12-10"}, []string{"age_contradicts_birth_date"}},
		{"2030-01-01", "", map[kith.Field]string{}, []string{"future_birth_date"}},
		{"1850-01-01", "", map[kith.Field]string{}, []string{"implausible_birth_date"}},
		{"", "12", map[kith.Field]string{}, []string{"implausible_age"}},
		{"", "121", map[kith.Field]string{}, []string{"implausible_age"}},
		{"", "thirty", map[kith.Field]string{}, []string{"invalid_age"}},
		{"", "13", map[kith.Field]string{"age": "13"}, nil},
	}
	for _, tt := range tests {
		raw := map[kith.Field]string{}
		if tt.birth != "" {
			raw[kith.FieldBirthDate] = tt.birth
		}
		if tt.age != "" {
			raw[kith.FieldAge] = tt.age
		}
		r := quality.Record(raw, opts)
		if !equalFields(r.Fields, tt.want) || !slices.Equal(codes(r.Violations), tt.codes) {
			t.Errorf("birth %q age %q: %v %v, want %v %v", tt.birth, tt.age, r.Fields, codes(r.Violations), tt.want, tt.codes)
		}
	}
}

func TestCountry(t *testing.T) {
	for in, want := range map[string]string{
		"NO": "NO", "no": "NO", "NOR": "NO", "Norway": "NO", "norway ": "NO", "Norge": "NO",
		"United Kingdom": "GB", "UK": "GB", "U.K.": "GB", "gbr": "GB", "Great Britain": "GB",
		"USA": "US", "U.S.A.": "US", "United States": "US", "the Netherlands": "NL", "Holland": "NL",
		"Deutschland": "DE", "Côte d’Ivoire": "CI", "Cote d'Ivoire": "CI", "South Korea": "KR",
		"Bosnia & Herzegovina": "BA", "Czechia": "CZ", "Türkiye": "TR",
		// Withdrawn codes share these names and must not take them over.
		"France": "FR", "FRA": "FR", "Panama": "PA", "Benin": "BJ", "Burkina Faso": "BF",
		"Timor-Leste": "TL", "Antarctica": "AQ", "Congo - Kinshasa": "CD", "Vietnam": "VN",
		"U.S. Outlying Islands": "UM", "Myanmar (Burma)": "MM", "Germany": "DE", "Kosovo": "XK",
		// A withdrawn code reads as its successor.
		"FX": "FR", "ZR": "CD", "DD": "DE", "TP": "TL", "BU": "MM",
	} {
		if got, vs := quality.Country(in); got != want || len(vs) != 0 {
			t.Errorf("Country(%q) = %q %v, want %q", in, got, vs, want)
		}
	}
	// Codes withdrawn without one successor (SU, YU) and CLDR's sub-regions (AC,
	// EA) are not ISO 3166-1 countries.
	for _, in := range []string{"Atlantis", "XX", "ZZZ", "12", "SU", "YU", "CS", "AC", "EA"} {
		if got, vs := quality.Country(in); got != "" || len(vs) != 1 || vs[0].Code != "invalid_country" {
			t.Errorf("Country(%q) = %q %v, want invalid_country", in, got, vs)
		}
	}
}

// Every region phonenumbers has a plan for is a country whose code and English
// name both read back as that code: an independent list against the table.
func TestCountryAgreesWithPhoneRegions(t *testing.T) {
	names := display.English.Regions()
	n := 0
	for code := range phonenumbers.GetSupportedRegions() {
		if code == "AC" || code == "TA" { // Ascension, Tristan da Cunha: parts of SH
			continue
		}
		n++
		name := names.Name(language.MustParseRegion(code))
		for _, in := range []string{code, name} {
			if got, vs := quality.Country(in); got != code {
				t.Errorf("Country(%q) = %q %v, want %s", in, got, vs, code)
			}
		}
	}
	if n < 240 {
		t.Fatalf("only %d phone regions checked", n)
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"  ada   lovelace ":   "Ada Lovelace",
		"ADA LOVELACE":        "Ada Lovelace",
		"mcdonald":            "McDonald",
		"o'neill":             "O'Neill",
		"D'ANGELO":            "D'Angelo",
		"ludwig van der berg": "Ludwig van der Berg",
		"maria de la cruz":    "Maria de la Cruz",
		"van der berg":        "Van der Berg",
		"smith-jones":         "Smith-Jones",
		"DeVito":              "DeVito", // mixed case is kept
		"MacLeod":             "MacLeod",
		"le Carré":            "le Carré",
		"JOSÉ ÁLVAREZ":        "José Álvarez",
	} {
		if got, vs := quality.Name(in, kith.FieldLastName); got != want || len(vs) != 0 {
			t.Errorf("Name(%q) = %q %v, want %q", in, got, vs, want)
		}
	}
	for _, in := range []string{"R2D2", "bob@example.com", "<script>"} {
		if _, vs := quality.Name(in, kith.FieldFirstName); len(vs) != 1 || vs[0].Code != "invalid_name" {
			t.Errorf("Name(%q) violations = %v, want invalid_name", in, vs)
		}
	}
}

func TestPostalCode(t *testing.T) {
	tests := []struct{ in, country, want string }{
		{"sw1a1aa", "GB", "SW1A 1AA"}, {"EC1A 1BB", "GB", "EC1A 1BB"}, {"M1 1AE", "GB", "M1 1AE"},
		{"12345", "US", "12345"}, {"123456789", "US", "12345-6789"}, {"k1a0b1", "CA", "K1A 0B1"},
		{"1234ab", "NL", "1234 AB"}, {"10115", "DE", "10115"}, {"11455", "SE", "114 55"},
		{"0150", "NO", "0150"}, {"00950", "PL", "00-950"}, {"1000001", "JP", "100-0001"},
		{"01310100", "BR", "01310-100"}, {"d02x285", "IE", "D02 X285"}, {"  ab-12 ", "ZW", "AB-12"},
		{"1234", "US", ""}, {"ABC DEF", "GB", ""}, {"0123AB", "NL", ""}, {"123", "DE", ""},
	}
	for _, tt := range tests {
		got, vs := quality.PostalCode(tt.in, tt.country)
		if got != tt.want || (tt.want == "") != (len(vs) == 1) {
			t.Errorf("PostalCode(%q, %s) = %q %v, want %q", tt.in, tt.country, got, vs, tt.want)
		}
	}
	if n := len(quality.PostalCountries()); n < 20 {
		t.Errorf("%d postal formats, want at least 20", n)
	}
}

func TestRecord(t *testing.T) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	r := quality.Record(map[kith.Field]string{
		"email": " ADA@Example.com ", "phone": "412 34 567", "first_name": "ada", "last_name": "LOVELACE",
		"birth_date": "10.12.1990", "country": "Norway", "city": "oslo", "postal_code": "0150",
	}, quality.Options{Now: now, DefaultRegion: "US"})
	want := map[kith.Field]string{
		"email": "ada@example.com", "phone": "+4741234567", "phone_type": "mobile", "first_name": "Ada",
		"last_name": "Lovelace", "birth_date": "1990-12-10", "country": "NO", "city": "Oslo", "postal_code": "0150",
	}
	if !equalFields(r.Fields, want) || len(r.Violations) != 0 {
		t.Errorf("Record = %v %v, want %v", r.Fields, r.Violations, want)
	}
	if r.Completeness.Score != 100 || len(r.Completeness.Missing) != 0 {
		t.Errorf("completeness = %+v, want 100", r.Completeness)
	}
	// A bad phone is rejected with its field; the rest stands.
	r = quality.Record(map[kith.Field]string{"email": "a@example.com", "phone": "12", "country": "NO"}, quality.Options{Now: now})
	if r.Fields.Get(kith.FieldPhone) != "" || len(r.Violations) != 1 || r.Violations[0].Field != "phone" {
		t.Errorf("bad phone: %v %v", r.Fields, r.Violations)
	}
	if r.Completeness.Score != 35 || r.Completeness.Missing[0].Field != kith.FieldEmail && r.Completeness.Missing[0].Points != 15 {
		t.Errorf("completeness = %+v", r.Completeness)
	}
}

func TestCompleteness(t *testing.T) {
	provided := func(v string) kith.Value { return kith.Value{Value: v} }
	imputed := kith.Value{Value: "40", Provenance: kith.Provenance{Imputed: true}}
	c := quality.Score(map[kith.Field]kith.Value{"email": provided("a@b.co"), "birth_date": imputed}, quality.DefaultWeights)
	if c.Score != 33 { // 25 + 15/2 of 100, rounded
		t.Errorf("score = %d, want 33", c.Score)
	}
	if c.Missing[0].Field != kith.FieldPhone || c.Missing[0].Points != 15 {
		t.Errorf("most valuable missing = %+v, want phone 15", c.Missing[0])
	}
	for _, g := range c.Missing {
		if g.Field == kith.FieldBirthDate && g.Points != 8 {
			t.Errorf("imputed birth date gains %d, want 8", g.Points)
		}
	}
	if _, err := quality.ParseWeights([]byte(`{"shoe_size": 3}`)); err == nil {
		t.Error("unknown field accepted")
	}
}

func equalFields(fs quality.Fields, want map[kith.Field]string) bool {
	got := fs.Map()
	if len(got) != len(want) {
		return false
	}
	for f, v := range want {
		if got[f] != v {
			return false
		}
	}
	return true
}

// A Result's fields come out in kith.ProfileFields order, whatever the input's.
func TestFieldsInProfileOrder(t *testing.T) {
	r := quality.Record(map[kith.Field]string{"country": "norway", "email": "a@example.com", "first_name": "ada", "shoe_size": "44"},
		quality.Options{Now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)})
	var got []kith.Field
	for f := range r.Fields.All() {
		got = append(got, f)
	}
	if want := []kith.Field{kith.FieldEmail, kith.FieldFirstName, kith.FieldCountry}; !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	if r.Fields.Len() != 3 || r.Fields.Get(kith.FieldCountry) != "NO" || r.Fields.Get("shoe_size") != "" ||
		r.Fields.Map()[kith.FieldFirstName] != "Ada" {
		t.Fatalf("fields %v", r.Fields)
	}
}

// Record reads its input map in one pass; its answer never depends on the order
// the map yields (workflows call it, and replay must see the same result).
func TestRecordIgnoresMapOrder(t *testing.T) {
	raw := map[kith.Field]string{
		"email": "info@gmial.com", "phone": "412 34 567", "first_name": "ada", "last_name": "\xff",
		"birth_date": "03/04/1990", "country": "Norway", "city": "\xfe", "age": "36", "postal_code": "0150",
	}
	opts := quality.Options{Now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}
	first := quality.Record(raw, opts)
	if len(first.Violations) < 4 {
		t.Fatalf("want violations from several fields, got %v", first.Violations)
	}
	for range 100 {
		again := quality.Record(raw, opts)
		if again.Fields != first.Fields || !slices.Equal(again.Violations, first.Violations) {
			t.Fatalf("Record gave %v %v, then %v %v", first.Fields, first.Violations, again.Fields, again.Violations)
		}
	}
}
