package quality

import (
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/kithhq/kith"
)

// Email standardizes an email address. Policy (documented for the forms and the
// import):
//   - trimmed, and lower-cased whole: every major provider treats the local part
//     case-insensitively, and identity matching needs one spelling;
//   - what people and exports wrap an address in is taken off first, with a
//     warning per kind of repair (see repairEmail); several addresses, or none,
//     are rejected;
//   - the local part is a dot-atom (RFC 5322 atext and single dots), and may
//     hold non-ASCII letters, digits and marks (RFC 6531 internationalized
//     addresses: NFC-normalized, lower-cased; an "smtputf8" warning says only
//     an SMTPUTF8-capable sender can deliver it); quoted local parts ("a b"@x)
//     and comments are rejected: mailbox providers do not hand them out and
//     most sending platforms refuse them;
//   - the domain has at least two labels of letters, digits and inner hyphens, each
//     at most 63 bytes, and an alphabetic (or xn--) top-level label; an IDN domain
//     is converted to punycode (bücher.de → xn--bcher-kva.de); IP literals are
//     rejected;
//   - at most 64 bytes before the @ and 254 in all;
//   - warnings, never changes: a likely typo of a common domain (with a
//     suggestion), a role address (info@, sales@ …), a disposable domain.
//
// No network lookups are made.
func Email(v string) (string, kith.Violations) {
	v, repairs := repairEmail(v)
	if repairs.Rejects() {
		return "", repairs
	}
	utf8Local := false
	if v = lowerASCII(v); !isASCII(v) {
		v = norm.NFC.String(v)
		if at := strings.IndexByte(v, '@'); at > 0 && !isASCII(v[:at]) {
			v, utf8Local = norm.NFC.String(strings.ToLower(v[:at]))+v[at:], true
		}
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || domain == "" {
		return "", kith.Violations{reject(kith.FieldEmail, "invalid_email", "must be an address like name@example.com")}
	}
	if strings.Contains(domain, "@") {
		return "", kith.Violations{reject(kith.FieldEmail, "invalid_email", "must contain exactly one @")}
	}
	if len(local) > 64 {
		return "", kith.Violations{reject(kith.FieldEmail, "email_too_long", "has more than 64 characters before the @")}
	}
	if !dotAtom(local) {
		return "", kith.Violations{reject(kith.FieldEmail, "invalid_email", "has a character or dot that is not allowed before the @")}
	}
	ascii, ok := emailDomain(domain)
	if !ok {
		return "", kith.Violations{reject(kith.FieldEmail, "invalid_email_domain", "needs a domain like example.com after the @")}
	}
	if ascii != domain {
		v = local + "@" + ascii
	}
	if len(v) > 254 {
		return "", kith.Violations{reject(kith.FieldEmail, "email_too_long", "is longer than 254 characters")}
	}
	vs := repairs
	if utf8Local {
		vs = append(vs, warn(kith.FieldEmail, "smtputf8", "has non-ASCII characters before the @: only a sender with SMTPUTF8 (RFC 6531) can deliver to it"))
	}
	if s := domainSuggestion(ascii); s != "" {
		w := warn(kith.FieldEmail, "email_domain_typo", "the domain looks like a typo of "+s)
		w.Suggestion = local + "@" + s
		vs = append(vs, w)
	}
	if roleLocalParts[local] {
		vs = append(vs, warn(kith.FieldEmail, "role_address", "is a role address, not a person's"))
	}
	if disposableDomains[ascii] {
		vs = append(vs, warn(kith.FieldEmail, "disposable_address", "is a disposable address"))
	}
	return v, vs
}

// dotAtom reports whether s is an RFC 5322 dot-atom: atext runs joined by single dots.
func dotAtom(s string) bool {
	if s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' {
				return false
			}
		} else if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
				return false // RFC 6531 allows any; symbols and spaces are typing accidents
			}
			i += size - 1
		} else if !atext[c] {
			return false
		}
	}
	return true
}

// atext marks the bytes RFC 5322 allows in an atom (lower case only: the address
// is lower-cased first).
var atext = func() (t [utf8.RuneSelf]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range []byte("!#$%&'*+/=?^_`{|}~-") {
		t[c] = true
	}
	return t
}()

var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(true), idna.VerifyDNSLength(true))

// emailDomain returns the ASCII (punycode) form of a mail domain, or false.
func emailDomain(d string) (string, bool) {
	ascii := d
	if !isASCII(d) {
		var err error
		if ascii, err = idnaProfile.ToASCII(d); err != nil {
			return "", false
		}
	}
	// Labels of letters, digits and inner hyphens, 1–63 bytes, at least two.
	start, labels := 0, 0
	for i := 0; i <= len(ascii); i++ {
		if i < len(ascii) && ascii[i] != '.' {
			c := ascii[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return "", false
			}
			continue
		}
		l := ascii[start:i]
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		start, labels = i+1, labels+1
	}
	tld := ascii[strings.LastIndexByte(ascii, '.')+1:]
	if labels < 2 || len(tld) < 2 || (!strings.HasPrefix(tld, "xn--") && !isLetters(tld)) {
		return "", false
	}
	return ascii, true
}

// commonDomains are the mailbox providers whose near-misses get a suggestion.
var commonDomains = []string{
	"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "hotmail.com",
	"hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com", "icloud.com",
	"me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "protonmail.com", "proton.me",
	"mail.ru", "yandex.ru", "orange.fr", "free.fr", "comcast.net", "t-online.de",
}

// letterCounts is a histogram of a domain's bytes, folded into 64 buckets.
type letterCounts [64]int8

func countLetters(s string) letterCounts {
	var c letterCounts
	for i := 0; i < len(s); i++ {
		c[s[i]&63]++
	}
	return c
}

// letterSet has bit b&63 set for every byte b of s.
func letterSet(s string) uint64 {
	var m uint64
	for i := 0; i < len(s); i++ {
		m |= 1 << (s[i] & 63)
	}
	return m
}

type commonDomain struct {
	name   string
	set    uint64
	counts letterCounts
}

// commonByLength[n] holds the common domains within two edits' length of a domain
// of n bytes (no common domain has more than 14).
var commonByLength = func() (t [17][]commonDomain) {
	for n := range t {
		for _, d := range commonDomains {
			if abs(len(d)-n) <= 2 {
				t[n] = append(t[n], commonDomain{d, letterSet(d), countLetters(d)})
			}
		}
	}
	return t
}()

// domainSuggestion returns the common domain d is one or two edits away from.
func domainSuggestion(d string) string {
	if len(d) < 6 || len(d) >= len(commonByLength) {
		return ""
	}
	best, bestDist := "", 3
	ds := letterSet(d)
	var dc letterCounts
	for _, c := range commonByLength[len(d)] {
		if c.name == d {
			return "" // a common domain itself
		}
		// An edit adds or removes at most one byte value in each string, so two
		// edits change at most four bits of the set: a one-instruction filter.
		if bits.OnesCount64(ds^c.set) > 4 {
			continue
		}
		if dc == (letterCounts{}) {
			dc = countLetters(d)
		}
		// Each edit changes the byte histogram by at most 2: more than 4 apart
		// cannot be within 2 edits. This skips almost every candidate cheaply;
		// only the buckets either string uses can differ.
		diff := 0
		for set := ds | c.set; set != 0 && diff <= 4; set &= set - 1 {
			k := bits.TrailingZeros64(set)
			diff += abs(int(dc[k]) - int(c.counts[k]))
		}
		if diff > 4 {
			continue
		}
		if dist := osaDistance(d, c.name, bestDist); dist < bestDist {
			best, bestDist = c.name, dist
		}
	}
	return best
}

// osaMaxLen bounds osaDistance's rows: small, they cost nothing to clear.
const osaMaxLen = 23

// osaDistance is the optimal-string-alignment edit distance of ASCII a and b
// (insertions, deletions, substitutions, adjacent transpositions), or max when it
// is at least max. Strings longer than osaMaxLen (no mail domain we suggest is
// near one) count as max.
func osaDistance(a, b string, max int) int {
	var rows [3][osaMaxLen + 1]int
	if len(b) > osaMaxLen || len(a) > osaMaxLen {
		return max
	}
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
			rowMin = min(rowMin, d)
		}
		if rowMin >= max {
			return max
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], max)
}

var roleLocalParts = map[string]bool{
	"admin": true, "administrator": true, "billing": true, "contact": true, "help": true,
	"hello": true, "hr": true, "info": true, "jobs": true, "marketing": true, "no-reply": true,
	"noreply": true, "office": true, "postmaster": true, "sales": true, "support": true,
	"team": true, "webmaster": true,
}

// disposableDomains is a small list of the most common throwaway-mail domains; a
// full, updated list belongs in data that ops can refresh.
var disposableDomains = map[string]bool{
	"mailinator.com": true, "guerrillamail.com": true, "10minutemail.com": true,
	"temp-mail.org": true, "yopmail.com": true, "trashmail.com": true, "sharklasers.com": true,
	"getnada.com": true, "dispostable.com": true, "throwawaymail.com": true, "maildrop.cc": true,
	"tempmail.net": true, "fakeinbox.com": true, "mailnesia.com": true,
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// lowerASCII is strings.ToLower with fast paths for ASCII text: no copy when it is
// already lower case, one when it is short.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
			if len(s) > 256 || !isASCII(s[i:]) {
				return strings.ToLower(s)
			}
			var buf [256]byte
			b := buf[:len(s)]
			copy(b, s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
