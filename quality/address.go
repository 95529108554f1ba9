package quality

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/kithhq/kith"
)

// Address standardizes a street address (street and number; further lines, such
// as a flat, joined by ", "): NFC, white space and line breaks collapsed, an
// all-upper or all-lower address capitalized word by word (ordinal suffixes and
// unit letters after a number stay as written: 21st, 12b), and the street-type
// abbreviations that end a street name written out: "St" → "Street", "Ave" →
// "Avenue", "Rd" → "Road", "Hauptstr." → "Hauptstraße", "Berliner Str." →
// "Berliner Straße". "St" before a name is a saint ("St Johns Road") and stays.
func Address(v string) (string, kith.Violations) {
	if !utf8.ValidString(v) {
		return "", kith.Violations{reject(kith.FieldAddress, "not_utf8", "is not valid UTF-8 text")}
	}
	v = norm.NFC.String(v)
	var lines []string
	for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		if l = collapseSpaces(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "", nil
	}
	out := strings.Join(lines, ", ")
	if utf8.RuneCountInString(out) > 200 {
		return "", kith.Violations{reject(kith.FieldAddress, "address_too_long", "is longer than 200 characters")}
	}
	letters := false
	for _, r := range out {
		switch {
		case unicode.IsControl(r) || r == '<' || r == '>' || r == '{' || r == '}' || r == '@':
			return "", kith.Violations{reject(kith.FieldAddress, "invalid_address", "has characters an address does not have")}
		case unicode.IsLetter(r):
			letters = true
		}
	}
	if !letters {
		return "", kith.Violations{reject(kith.FieldAddress, "invalid_address", "has no street name")}
	}
	if singleCase(out) {
		out = capitalizeAddress(strings.ToLower(out))
	}
	parts := strings.Split(out, ", ")
	for i, p := range parts {
		parts[i] = expandStreetType(p)
	}
	return strings.Join(parts, ", "), nil
}

// capitalizeAddress capitalizes each word of a lower-case address; a word that
// starts with a digit (21st, 12b) and a particle after the first word (rue de la
// Paix, Unter den Linden) are kept.
func capitalizeAddress(lower string) string {
	words := strings.Split(lower, " ")
	for i, w := range words {
		if w == "" {
			continue
		}
		r, size := utf8.DecodeRuneInString(w)
		if unicode.IsDigit(r) || i > 0 && isParticle(w) {
			continue
		}
		var b strings.Builder
		b.WriteRune(unicode.ToUpper(r))
		rest := w[size:]
		// Hyphenated parts too: Saint-Germain.
		for j := 0; j < len(rest); {
			r, n := utf8.DecodeRuneInString(rest[j:])
			b.WriteRune(r)
			j += n
			if r == '-' && j < len(rest) {
				r2, n2 := utf8.DecodeRuneInString(rest[j:])
				b.WriteRune(unicode.ToUpper(r2))
				j += n2
			}
		}
		words[i] = b.String()
	}
	return strings.Join(words, " ")
}

// streetTypes are abbreviations of the word that ends a street name (lower
// case, without the period) and what they stand for.
var streetTypes = map[string]string{
	"st": "Street", "str": "Straße", "ave": "Avenue", "av": "Avenue", "rd": "Road", "dr": "Drive",
	"ln": "Lane", "blvd": "Boulevard", "ct": "Court", "pl": "Place", "sq": "Square", "hwy": "Highway",
	"pkwy": "Parkway", "ter": "Terrace", "cres": "Crescent", "cl": "Close", "gdns": "Gardens",
}

// expandStreetType writes out the street-type abbreviation of one address line:
// a word of streetTypes that is the line's last word, or is followed only by a
// house number ("Berliner Str. 5"), or a German compound ending in "str."
// ("Hauptstr. 5"). An abbreviation that starts the line (St Johns Road) is not a
// street type.
func expandStreetType(line string) string {
	words := strings.Split(line, " ")
	for i, w := range words {
		if i == 0 {
			continue
		}
		next := ""
		if i+1 < len(words) {
			next = words[i+1]
		}
		if i+2 < len(words) || (next != "" && !startsWithDigit(next)) {
			continue
		}
		if full, ok := streetTypes[strings.ToLower(strings.TrimSuffix(w, "."))]; ok && !startsWithDigit(w) {
			words[i] = full
		}
	}
	// German compounds: Hauptstr. / Hauptstr → Hauptstraße.
	for i, w := range words {
		base := strings.TrimSuffix(w, ".")
		numbered := i+1 < len(words) && startsWithDigit(words[i+1])
		if len(base) > 4 && strings.HasSuffix(strings.ToLower(base), "str") && (base != w || numbered) && !startsWithDigit(w) {
			words[i] = base[:len(base)-3] + "straße"
		}
	}
	return strings.Join(words, " ")
}

func startsWithDigit(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsDigit(r)
}
