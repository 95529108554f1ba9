package quality

import (
	"strings"

	"github.com/kithhq/kith"
)

// postalFormat checks and formats one country's postal codes. Input arrives
// upper-cased with spaces and dashes removed.
type postalFormat struct {
	example string
	check   func(s string) bool
	format  func(s string) string // nil keeps s
}

// PostalCountries lists the countries whose postal codes are checked; for others
// the code is only trimmed and upper-cased.
var postalFormats = map[string]postalFormat{
	"US": {"12345 or 12345-6789", func(s string) bool { return (len(s) == 5 || len(s) == 9) && allDigits(s) },
		func(s string) string {
			if len(s) == 9 {
				return s[:5] + "-" + s[5:]
			}
			return s
		}},
	"GB": {"SW1A 1AA", ukPostcode, func(s string) string { return s[:len(s)-3] + " " + s[len(s)-3:] }},
	"CA": {"K1A 0B1", func(s string) bool { return len(s) == 6 && pattern(s, "ADADAD") }, func(s string) string { return s[:3] + " " + s[3:] }},
	"NL": {"1234 AB", func(s string) bool { return len(s) == 6 && pattern(s, "DDDDAA") && s[0] != '0' }, func(s string) string { return s[:4] + " " + s[4:] }},
	"DE": {"10115", digitsN(5), nil},
	"FR": {"75001", digitsN(5), nil},
	"ES": {"28001", digitsN(5), nil},
	"IT": {"00118", digitsN(5), nil},
	"FI": {"00100", digitsN(5), nil},
	"SE": {"114 55", digitsN(5), func(s string) string { return s[:3] + " " + s[3:] }},
	"NO": {"0150", digitsN(4), nil},
	"DK": {"1050", digitsN(4), nil},
	"CH": {"8001", digitsN(4), nil},
	"AT": {"1010", digitsN(4), nil},
	"BE": {"1000", digitsN(4), nil},
	"AU": {"2000", digitsN(4), nil},
	"PL": {"00-950", digitsN(5), func(s string) string { return s[:2] + "-" + s[2:] }},
	"PT": {"1000-001", digitsN(7), func(s string) string { return s[:4] + "-" + s[4:] }},
	"JP": {"100-0001", digitsN(7), func(s string) string { return s[:3] + "-" + s[3:] }},
	"BR": {"01310-100", digitsN(8), func(s string) string { return s[:5] + "-" + s[5:] }},
	"IN": {"110001", digitsN(6), nil},
	"IE": {"D02 X285", func(s string) bool { return len(s) == 7 && pattern(s[:3], "ADD") || s == "D6W" }, func(s string) string {
		if len(s) == 7 {
			return s[:3] + " " + s[3:]
		}
		return s
	}},
}

var postalSeparators = strings.NewReplacer(" ", "", "-", "")

// PostalCode checks a postal code against the format of country (see
// PostalCountries) and returns it in its usual written form.
func PostalCode(v, country string) (string, kith.Violations) {
	s := strings.ToUpper(postalSeparators.Replace(strings.TrimSpace(v)))
	if s == "" {
		return "", nil
	}
	pf, ok := postalFormats[country]
	if !ok {
		// Unchecked country: letters, digits, spaces and dashes, at most 12.
		out := strings.ToUpper(collapseSpaces(v))
		if len(out) > 12 {
			return "", kith.Violations{reject(kith.FieldPostalCode, "invalid_postal_code", "is longer than any postal code")}
		}
		for i := 0; i < len(out); i++ {
			if c := out[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '-') {
				return "", kith.Violations{reject(kith.FieldPostalCode, "invalid_postal_code", "has characters a postal code does not have")}
			}
		}
		return out, nil
	}
	if !pf.check(s) {
		return "", kith.Violations{reject(kith.FieldPostalCode, "invalid_postal_code", "is not a postal code of "+country+" (like "+pf.example+")")}
	}
	if pf.format != nil {
		return pf.format(s), nil
	}
	return s, nil
}

// PostalCountries returns the countries whose postal codes are checked.
func PostalCountries() []string {
	out := make([]string, 0, len(postalFormats))
	for c := range postalFormats {
		out = append(out, c)
	}
	return out
}

func digitsN(n int) func(string) bool {
	return func(s string) bool { return len(s) == n && allDigits(s) }
}

// pattern matches s against a template of A (letter) and D (digit); any other
// template byte must appear as itself.
func pattern(s, tmpl string) bool {
	if len(s) != len(tmpl) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch tmpl[i] {
		case 'A':
			if c < 'A' || c > 'Z' {
				return false
			}
		case 'D':
			if c < '0' || c > '9' {
				return false
			}
		default:
			if c != tmpl[i] {
				return false
			}
		}
	}
	return true
}

// ukPostcode checks a UK postcode without spaces: an outward code (A9, A99, AA9,
// AA99, A9A, AA9A) then an inward code (9AA).
func ukPostcode(s string) bool {
	if len(s) < 5 || len(s) > 7 || !pattern(s[len(s)-3:], "DAA") {
		return false
	}
	out := s[:len(s)-3]
	for _, t := range []string{"AD", "ADD", "AAD", "AADD", "ADA", "AADA"} {
		if pattern(out, t) {
			return true
		}
	}
	return false
}

// PostalRegion is the country a postal code's written shape belongs to, when
// only one of the checked countries writes codes that way (a UK postcode, a
// Canadian or Dutch one, or digits with a country's own dash), else "". Plain
// digit codes are shared by many countries and say nothing.
func PostalRegion(v string) string {
	t := strings.ToUpper(collapseSpaces(strings.TrimSpace(v)))
	s := postalSeparators.Replace(t)
	switch {
	case s == "":
		return ""
	case ukPostcode(s):
		return "GB"
	case len(s) == 6 && pattern(s, "ADADAD"):
		return "CA"
	case len(s) == 6 && pattern(s, "DDDDAA") && s[0] != '0':
		return "NL"
	case len(s) == 7 && pattern(s[:3], "ADD") && !allDigits(s[3:]):
		return "IE"
	}
	for _, d := range [...]struct{ shape, region string }{
		{"DD-DDD", "PL"}, {"DDDD-DDD", "PT"}, {"DDD-DDDD", "JP"}, {"DDDDD-DDD", "BR"}, {"DDDDD-DDDD", "US"},
	} {
		if pattern(t, d.shape) {
			return d.region
		}
	}
	return ""
}
