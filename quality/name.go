package quality

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kithhq/kith"
)

// Name trims a person's name and collapses inner spaces. A name written all in
// lower or all in upper case is capitalized with the usual exceptions: Mc
// (McDonald), O' and D' (O'Neill), hyphenated parts (Smith-Jones), and lower-case
// particles after the first word (Ludwig van der Berg, Maria de la Cruz). A name
// written in mixed case is kept as written: people know their own spelling
// (DeVito, MacLeod, le Carré).
func Name(v string, f kith.Field) (string, kith.Violations) {
	v = collapseSpaces(v)
	if v == "" {
		return "", nil
	}
	if utf8.RuneCountInString(v) > 100 {
		return "", kith.Violations{reject(f, "name_too_long", "is longer than 100 characters")}
	}
	for _, r := range v {
		if unicode.IsDigit(r) || unicode.IsControl(r) || strings.ContainsRune("@<>{}[]|\\/#$%^*=+_~", r) {
			return "", kith.Violations{reject(f, "invalid_name", "has characters a name does not have")}
		}
	}
	if !singleCase(v) {
		return v, nil
	}
	words := strings.Split(strings.ToLower(v), " ")
	for i, w := range words {
		if i > 0 && nameParticles[w] {
			continue
		}
		words[i] = capitalizeWord(w)
	}
	return strings.Join(words, " "), nil
}

var nameParticles = map[string]bool{
	"van": true, "der": true, "den": true, "de": true, "del": true, "della": true, "di": true,
	"da": true, "dos": true, "das": true, "du": true, "la": true, "le": true, "von": true,
	"zu": true, "ter": true, "ten": true, "y": true, "e": true, "bin": true, "ibn": true,
}

// capitalizeWord capitalizes each hyphenated part, the letter after a one-letter
// prefix with an apostrophe (O'Neill, D'Angelo) and the letter after Mc.
func capitalizeWord(w string) string {
	parts := strings.Split(w, "-")
	for i, p := range parts {
		rs := []rune(p)
		if len(rs) == 0 {
			continue
		}
		rs[0] = unicode.ToUpper(rs[0])
		if len(rs) > 2 && (rs[1] == '\'' || rs[1] == '’' || (rs[0] == 'M' && rs[1] == 'c')) {
			rs[2] = unicode.ToUpper(rs[2])
		}
		parts[i] = string(rs)
	}
	return strings.Join(parts, "-")
}

// singleCase reports whether the letters of s are all lower or all upper case.
func singleCase(s string) bool {
	lower, upper := false, false
	for _, r := range s {
		if unicode.IsLower(r) {
			lower = true
		} else if unicode.IsUpper(r) {
			upper = true
		}
	}
	return !(lower && upper)
}

// collapseSpaces trims s and turns every run of white space into one space.
func collapseSpaces(s string) string {
	// Fast path: nothing to do.
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\n' || c == '\r' || c >= 0x80 || (c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ')) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
