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
	if n, vs, ok := nameASCII(v, f); ok {
		return n, vs
	}
	return nameGeneral(v, f)
}

// nameASCII is Name in one pass for the common case: a short ASCII name without
// control characters, leading, trailing or double spaces. ok is false for any
// other name, which takes nameGeneral.
func nameASCII(v string, f kith.Field) (name string, vs kith.Violations, ok bool) {
	if v == "" || len(v) > 64 || v[0] == ' ' || v[len(v)-1] == ' ' {
		return "", nil, false
	}
	lower, upper, bad := false, false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x20 || c >= utf8.RuneSelf || (c == ' ' && v[i+1] == ' '):
			return "", nil, false
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case notInNames[c]:
			bad = true
		}
	}
	switch {
	case bad:
		return "", kith.Violations{reject(f, "invalid_name", "has characters a name does not have")}, true
	case lower && upper:
		return v, nil, true
	}
	var buf [64]byte
	b := buf[:len(v)]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return capitalizeASCII(b), nil, true
}

// nameGeneral is Name for any text.
func nameGeneral(v string, f kith.Field) (string, kith.Violations) {
	v = collapseSpaces(v)
	if v == "" {
		return "", nil
	}
	if utf8.RuneCountInString(v) > 100 {
		return "", kith.Violations{reject(f, "name_too_long", "is longer than 100 characters")}
	}
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if notInNames[c] {
				return "", kith.Violations{reject(f, "invalid_name", "has characters a name does not have")}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if unicode.IsDigit(r) || unicode.IsControl(r) {
			return "", kith.Violations{reject(f, "invalid_name", "has characters a name does not have")}
		}
		i += size
	}
	if !singleCase(v) {
		return v, nil
	}
	return capitalizeName(strings.ToLower(v)), nil
}

// notInNames marks the ASCII bytes a name never has: digits, control characters
// and markup or code symbols.
var notInNames = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c < 0x20 || c == 0x7f || (c >= '0' && c <= '9')
	}
	for _, c := range []byte("@<>{}[]|\\/#$%^*=+_~") {
		t[c] = true
	}
	return t
}()

// isParticle reports whether a lower-case word is a name particle (van, de, …),
// which stays lower case after the first word.
func isParticle(w string) bool {
	switch w {
	case "van", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "la", "le",
		"von", "zu", "ter", "ten", "y", "e", "bin", "ibn":
		return true
	}
	return false
}

// capitalizeName capitalizes each word of a lower-case name except particles
// after the first word.
func capitalizeName(lower string) string {
	if isASCII(lower) {
		return capitalizeASCII([]byte(lower))
	}
	return capitalizeWords(lower)
}

// capitalizeWords is capitalizeName for any script.
func capitalizeWords(lower string) string {
	var b strings.Builder
	b.Grow(len(lower))
	i := 0
	for word := range strings.SplitSeq(lower, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i > 0 && isParticle(word) {
			b.WriteString(word)
		} else {
			capitalizeWord(&b, word)
		}
		i++
	}
	return b.String()
}

// capitalizeASCII is capitalizeName for ASCII names, in place.
func capitalizeASCII(b []byte) string {
	word, part := 0, 0 // index of the current word; start of the current part
	for i := 0; i <= len(b); i++ {
		if i < len(b) && b[i] != ' ' && b[i] != '-' {
			continue
		}
		if p := b[part:i]; len(p) > 0 && !(word > 0 && b[part-1] == ' ' && (i == len(b) || b[i] == ' ') && isParticle(string(p))) {
			p[0] = upperASCII(p[0])
			if len(p) > 2 && (p[1] == '\'' || (p[0] == 'M' && p[1] == 'c')) {
				p[2] = upperASCII(p[2])
			}
		}
		if i < len(b) && b[i] == ' ' {
			word++
		}
		part = i + 1
	}
	return string(b)
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// capitalizeWord capitalizes each hyphenated part, the letter after a one-letter
// prefix with an apostrophe (O'Neill, D'Angelo) and the letter after Mc.
func capitalizeWord(b *strings.Builder, w string) {
	j := 0
	for part := range strings.SplitSeq(w, "-") {
		if j > 0 {
			b.WriteByte('-')
		}
		var r0, r1 rune
		n := 0
		for _, r := range part {
			switch n {
			case 0:
				r = unicode.ToUpper(r)
				r0 = r
			case 1:
				r1 = r
			case 2:
				if r1 == '\'' || r1 == '’' || (r0 == 'M' && r1 == 'c') {
					r = unicode.ToUpper(r)
				}
			}
			b.WriteRune(r)
			n++
		}
		j++
	}
}

// singleCase reports whether the letters of s are all lower or all upper case.
func singleCase(s string) bool {
	lower, upper := false, false
	if isASCII(s) {
		for i := 0; i < len(s); i++ {
			lower = lower || (s[i] >= 'a' && s[i] <= 'z')
			upper = upper || (s[i] >= 'A' && s[i] <= 'Z')
		}
		return !(lower && upper)
	}
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
	for i := 0; i < len(s) && clean; {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			clean = !unicode.IsSpace(r)
			i += size
			continue
		}
		clean = c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f' &&
			(c != ' ' || (i != 0 && i != len(s)-1 && s[i+1] != ' '))
		i++
	}
	if clean {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
