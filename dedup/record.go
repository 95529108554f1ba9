package dedup

import (
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/kithhq/kith"
)

// Record is one contact record to resolve: values already standardized by
// package quality (E.164 phones, ISO dates, lower-case emails).
type Record struct {
	ID         string      `json:"id"` // the contact id; a cluster keeps the id of its oldest record
	Source     kith.Source `json:"source"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	Email      string      `json:"email,omitempty"`
	Phone      string      `json:"phone,omitempty"`
	FirstName  string      `json:"first_name,omitempty"`
	LastName   string      `json:"last_name,omitempty"`
	BirthDate  string      `json:"birth_date,omitempty"` // YYYY-MM-DD
	PostalCode string      `json:"postal_code,omitempty"`
	City       string      `json:"city,omitempty"`
	Address    string      `json:"address,omitempty"` // street and number (quality.Address)
	CRMID      string      `json:"crm_id,omitempty"`
}

// MatchFields are the fields RecordOf reads: all that matching compares, so a
// store reading records only to match them can read just these.
var MatchFields = []kith.Field{kith.FieldEmail, kith.FieldPhone, kith.FieldFirstName, kith.FieldLastName,
	kith.FieldBirthDate, kith.FieldPostalCode, kith.FieldCity, kith.FieldAddress}

// RecordOf is what de-duplication compares of a profile or a source record:
// its matching fields, read by get.
func RecordOf(id string, src kith.Source, created, updated time.Time, get func(kith.Field) string) Record {
	return Record{ID: id, Source: src, CreatedAt: created, UpdatedAt: updated,
		Email: get(kith.FieldEmail), Phone: get(kith.FieldPhone), FirstName: get(kith.FieldFirstName), LastName: get(kith.FieldLastName),
		BirthDate: get(kith.FieldBirthDate), PostalCode: get(kith.FieldPostalCode), City: get(kith.FieldCity), Address: get(kith.FieldAddress)}
}

// RecordOfValues is RecordOf with the values of MatchFields given in that
// order, as a store keeps them for matching.
func RecordOfValues(id string, src kith.Source, created, updated time.Time, vals []string) Record {
	return RecordOf(id, src, created, updated, func(f kith.Field) string {
		if i := slices.Index(MatchFields, f); i >= 0 && i < len(vals) {
			return vals[i]
		}
		return ""
	})
}

// normalized is a record prepared for blocking and comparison.
type normalized struct {
	email, emailLocal string
	phone             string // digits
	first, firstCanon string // folded; nickname → canonical name
	last, lastCanon   string // lastCanon: nickname → canonical name, for names written the other way round
	soundex           string
	birth             int32 // days since 1900-01-01 + 1; 0 when unknown
	birthISO          string
	postal, city      string
	address           string // folded: lower case, no accents or punctuation, ß → ss
	houseNumber       string // the address's first word with a digit
	crm               string
	keys              [ruleCount]int64 // blocking keys by rule (ruleKeys), where hasKey has the rule's bit
	hasKey            uint8
}

// accentFolds are transformers that drop accents (NFD, remove marks, NFC).
var accentFolds = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// dropAccents removes the accents of s (é → e; ø and æ have none to drop). A
// chain holds state, so each call takes its own from a pool: making one per call
// allocated kilobytes each, gigabytes over a million records.
func dropAccents(s string) string {
	fold := accentFolds.Get().(transform.Transformer)
	defer accentFolds.Put(fold)
	if t, _, err := transform.String(fold, s); err == nil {
		return t
	}
	return s
}

// foldName lower-cases a name, drops accents and keeps letters only.
func foldName(s string) string {
	if isASCII(s) {
		return foldNameASCII(s)
	}
	return foldNameRunes(dropAccents(s))
}

// foldNameRunes keeps the letters of s, lower-cased.
func foldNameRunes(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsLetter(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// foldNameASCII is foldName of an ASCII name, which is most: s itself when
// it is folded already, else one allocation.
func foldNameASCII(s string) string {
	folded := true
	for i := 0; i < len(s) && folded; i++ {
		folded = s[i] >= 'a' && s[i] <= 'z'
	}
	if folded {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	return string(b)
}

// isASCII reports whether s is ASCII only.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// foldAddress folds a standardized street address for comparison, and finds its
// house number (the first word holding a digit).
func foldAddress(s string) (folded, number string) {
	if s == "" {
		return "", ""
	}
	if isASCII(s) {
		return foldAddressASCII(s)
	}
	return foldAddressRunes(dropAccents(strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(s, "ß", "ss"), "ẞ", "ss"))))
}

// foldAddressRunes splits s into words of letters and digits, joined by one
// space, and finds its house number.
func foldAddressRunes(s string) (folded, number string) {
	var words []string
	for w := range strings.FieldsFuncSeq(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if number == "" && strings.ContainsAny(w, "0123456789") {
			number = w
		}
		words = append(words, w)
	}
	return strings.Join(words, " "), number
}

// foldAddressASCII is foldAddress of an ASCII address: its letters and
// digits lower-cased, in words split at anything else and joined by one
// space, written in one pass.
func foldAddressASCII(s string) (folded, number string) {
	b := make([]byte, 0, len(s))
	start, digit := -1, false // the word being written
	end := func() {
		if start >= 0 && digit && number == "" {
			number = string(b[start:])
		}
		start, digit = -1, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9':
			digit = true
		default:
			end()
			continue
		}
		if start < 0 {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			start = len(b)
		}
		b = append(b, c)
	}
	end()
	return string(b), number
}

var epoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func normalize(r *Record) normalized {
	n := normalized{email: strings.ToLower(strings.TrimSpace(r.Email)), crm: r.CRMID,
		first: foldName(r.FirstName), last: foldName(r.LastName),
		postal: strings.ToUpper(strings.ReplaceAll(r.PostalCode, " ", "")), city: foldName(r.City)}
	n.address, n.houseNumber = foldAddress(r.Address)
	if at := strings.IndexByte(n.email, '@'); at > 0 {
		n.emailLocal = n.email[:at]
	}
	var digits []byte
	for i := 0; i < len(r.Phone); i++ {
		if c := r.Phone[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	n.phone = string(digits)
	n.firstCanon = n.first
	if c, ok := nicknames[n.first]; ok {
		n.firstCanon = c
	}
	n.lastCanon = n.last
	if c, ok := nicknames[n.last]; ok {
		n.lastCanon = c
	}
	n.soundex = soundex(n.last)
	if t, err := time.Parse(time.DateOnly, r.BirthDate); err == nil {
		n.birth = int32(t.Sub(epoch).Hours()/24) + 1
		n.birthISO = r.BirthDate
	}
	n.keys, n.hasKey = ruleKeys(&n)
	return n
}

// soundex is the American Soundex code of a folded name ("robert" → "r163").
func soundex(s string) string {
	if s == "" {
		return ""
	}
	codes := [26]byte{0, '1', '2', '3', 0, '1', '2', 0, 0, '2', '2', '4', '5', '5', 0, '1', '2', '6', '2', '3', 0, '1', 0, '2', 0, '2'}
	out := []byte{s[0]}
	if s[0] < 'a' || s[0] > 'z' {
		return s[:1]
	}
	last := codes[s[0]-'a']
	for i := 1; i < len(s) && len(out) < 4; i++ {
		c := s[i]
		if c < 'a' || c > 'z' {
			continue
		}
		code := codes[c-'a']
		if code != 0 && code != last {
			out = append(out, code)
		}
		if c != 'h' && c != 'w' {
			last = code
		}
	}
	for len(out) < 4 {
		out = append(out, '0')
	}
	return string(out)
}

// nicknames maps common short forms to the name they stand for. A short form
// of two names ("steve": stephen and steven) stands for the first listed. The
// list is a slice, not a map: ranging over a map would pick one or the other
// at random in each process, and workers that disagree on a name's canonical
// form disagree on its blocking keys.
var nicknames = func() map[string]string {
	m := map[string]string{}
	for _, e := range []struct {
		canon string
		nicks []string
	}{
		{"robert", []string{"bob", "rob", "bobby", "robbie"}}, {"william", []string{"bill", "will", "billy", "liam"}},
		{"richard", []string{"rick", "dick", "rich", "ricky"}}, {"james", []string{"jim", "jimmy", "jamie"}},
		{"john", []string{"jack", "johnny", "jon"}}, {"margaret", []string{"maggie", "meg", "peggy", "marge"}},
		{"elizabeth", []string{"liz", "beth", "lizzie", "betty", "eliza"}}, {"katherine", []string{"kate", "kathy", "katie", "kat"}},
		{"michael", []string{"mike", "mikey", "mick"}}, {"thomas", []string{"tom", "tommy"}}, {"joseph", []string{"joe", "joey"}},
		{"charles", []string{"charlie", "chuck"}}, {"christopher", []string{"chris", "kit"}}, {"daniel", []string{"dan", "danny"}},
		{"matthew", []string{"matt"}}, {"anthony", []string{"tony"}}, {"jennifer", []string{"jen", "jenny"}}, {"patricia", []string{"pat", "patty", "trish"}},
		{"susan", []string{"sue", "susie"}}, {"alexander", []string{"alex", "sasha"}}, {"edward", []string{"ed", "eddie", "ted"}},
		{"nicholas", []string{"nick", "nicky"}}, {"samuel", []string{"sam", "sammy"}}, {"benjamin", []string{"ben", "benny"}},
		{"rebecca", []string{"becky", "becca"}}, {"victoria", []string{"vicky", "tori"}}, {"deborah", []string{"debbie", "deb"}},
		{"jonathan", []string{"jonny"}}, {"andrew", []string{"andy", "drew"}}, {"stephen", []string{"steve", "stevie"}}, {"steven", []string{"steve"}},
		{"frances", []string{"fran", "frannie"}}, {"francis", []string{"frank"}}, {"barbara", []string{"barb", "babs"}}, {"ingrid", []string{"inga"}},
	} {
		m[e.canon] = e.canon
		for _, n := range e.nicks {
			if _, taken := m[n]; !taken {
				m[n] = e.canon
			}
		}
	}
	return m
}()
