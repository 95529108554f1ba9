package quality

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/kithhq/kith"
)

// repairEmail takes the one address out of what people and exports wrap it
// in, with a warning for each kind of repair (so the quality report can count
// them): invisible characters anywhere (zero-width, soft hyphen, BOM), unusual
// whitespace around it (NBSP, newlines; plain spaces are trimmed silently),
// %40 or &#64; or a fullwidth ＠ for @, a mailto: link, a label (Email: …), a
// display name (Name <addr>, "Last, First" <addr>, <addr>), surrounding
// quotes, a trailing comment (addr (work)) and trailing punctuation. A field
// with several addresses, or none, is rejected with its own code.
func repairEmail(v string) (string, kith.Violations) {
	if t := strings.Trim(v, " "); plainAddress(t) {
		return t, nil // the common case: nothing to take off (plain spaces go silently), one byte scan
	}
	var vs kith.Violations
	note := func(code, msg string) {
		for _, w := range vs {
			if w.Code == code {
				return
			}
		}
		vs = append(vs, warn(kith.FieldEmail, code, msg))
	}
	if strings.ContainsFunc(v, invisible) {
		v = strings.Map(func(r rune) rune {
			if invisible(r) {
				return -1
			}
			return r
		}, v)
		note("email_invisible_removed", "had invisible characters (zero-width space, soft hyphen), removed")
	}
	for range 8 { // each pass peels one wrapping; a few suffice
		before := v
		if s := strings.TrimFunc(v, unicode.IsSpace); s != v {
			if strings.Trim(v, " \t") != s {
				note("email_whitespace_trimmed", "had line breaks or non-breaking spaces around it, removed")
			}
			v = s
		}
		if !strings.Contains(v, "@") {
			if s := encodedAt.ReplaceAllString(v, "@"); s != v {
				v = s
				note("email_at_decoded", "had an encoded @ (%40, &#64;, ＠), decoded")
			}
		}
		if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
			v, _, _ = strings.Cut(v[7:], "?") // ?subject=… and the like
			note("email_mailto_removed", "was a mailto: link; the address was kept")
		}
		// The regular expressions run only on what can match them (the common
		// case, a plain address, costs a byte scan).
		if m := matchIf(strings.IndexByte(v, ':') >= 0, label, v); m != nil && !strings.Contains(m[1], "@") {
			v = m[2]
			note("email_label_removed", "had a label before the address ("+strings.TrimSpace(m[1])+":), removed")
		}
		if i, j := strings.LastIndexByte(v, '<'), strings.LastIndexByte(v, '>'); i >= 0 && j > i && strings.Contains(v[i:j], "@") && strings.Count(v, "<") == 1 {
			if strings.TrimSpace(v[:i]+v[j+1:]) != "" {
				note("email_display_name_removed", "had a name around the address (Name <address>); the address was kept")
			} else {
				note("email_brackets_removed", "was in angle brackets, removed")
			}
			v = v[i+1 : j]
		}
		if q, ok := unquote(v); ok {
			v = q
			note("email_quotes_removed", "was in quotes, removed")
		}
		if m := matchIf(strings.HasSuffix(v, ")"), comment, v); m != nil && strings.Contains(m[1], "@") {
			v = m[1]
			note("email_comment_removed", "had a comment in parentheses after it, removed")
		}
		if s := strings.TrimRight(v, ".,;:"); s != v && strings.Contains(s, "@") {
			v = s
			note("email_trailing_punctuation_removed", "ended in punctuation (a sentence's period or comma), removed")
		}
		if v == before {
			break
		}
	}
	if n := addressCount(v); n > 1 {
		return "", kith.Violations{reject(kith.FieldEmail, "multiple_emails", "holds several addresses; give one")}
	} else if n == 0 {
		return "", kith.Violations{reject(kith.FieldEmail, "no_email_address", "holds no address (nothing with an @); it must be like name@example.com")}
	}
	return v, vs
}

// plainAddress reports whether v is printable ASCII with one @ and none of
// the characters any repair looks for (nor a trailing dot): nothing to repair.
func plainAddress(v string) bool {
	if len(v) == 0 || v[len(v)-1] == '.' {
		return false
	}
	at := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c <= ' ' || c >= 0x7f:
			return false
		case c == '@':
			at++
		case plainStop[c]:
			return false
		}
	}
	return at == 1
}

// plainStop are the ASCII bytes some repair starts from.
var plainStop = func() (t [128]bool) {
	for _, c := range []byte("<>\"'`():;,%&") {
		t[c] = true
	}
	return t
}()

// invisible marks the characters that never belong in an address and that
// copying from documents and web pages leaves in: zero-width space, joiners,
// word joiner, byte-order mark, soft hyphen.
func invisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u200e', '\u200f':
		return true
	}
	return false
}

var (
	encodedAt = regexp.MustCompile(`(?i)%40|&#0*64;|&#x0*40;|&commat;|＠`)
	// label is a word or two and a colon before the address (Email:, E-mail address:).
	label   = regexp.MustCompile(`^([\p{L}][\p{L} ._-]{0,30}):\s*(\S.*)$`)
	comment = regexp.MustCompile(`^(.*?\S)\s*\([^()@]*\)$`)
)

// matchIf is re's submatches in v when cond holds (nil otherwise).
func matchIf(cond bool, re *regexp.Regexp, v string) []string {
	if !cond {
		return nil
	}
	return re.FindStringSubmatch(v)
}

// unquote strips one pair of surrounding quotes (straight, curly or
// guillemets) from an address that is entirely inside them.
func unquote(v string) (string, bool) {
	for _, p := range [][2]string{{`"`, `"`}, {`'`, `'`}, {"“", "”"}, {"‘", "’"}, {"«", "»"}, {"„", "“"}, {"‚", "‘"}, {"`", "`"}} {
		if len(v) > len(p[0])+len(p[1]) && strings.HasPrefix(v, p[0]) && strings.HasSuffix(v, p[1]) {
			inner := v[len(p[0]) : len(v)-len(p[1])]
			if strings.Contains(inner, "@") && !strings.ContainsAny(inner, `"'“”‘’«»`) {
				return inner, true
			}
		}
	}
	return "", false
}

// addressCount counts the separate tokens that hold an @ (several addresses
// are separated by commas, semicolons, slashes, bars or whitespace).
func addressCount(v string) int {
	n, hasAt := 0, false
	for _, r := range v {
		if r == ',' || r == ';' || r == '/' || r == '|' || unicode.IsSpace(r) {
			if hasAt {
				n++
			}
			hasAt = false
		} else if r == '@' {
			hasAt = true
		}
	}
	if hasAt {
		n++
	}
	return n
}
