package quality

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/kithhq/kith"
)

// Country returns the ISO 3166-1 alpha-2 code for an alpha-2 or alpha-3 code, an
// English country name or a common variant (UK, USA, Holland, Deutschland …),
// ignoring case, accents, dots and "the". The countries are ISO 3166-1's 249 and
// XK (Kosovo); a withdrawn code with one successor reads as it (FX → FR, ZR → CD).
func Country(v string) (string, kith.Violations) {
	// Fast path: a code or a name in letters and single spaces, looked up by its
	// lower case without building a key.
	if len(v) <= 32 {
		var buf [4 * 32]byte
		if k, ok := plainKey(buf[:0], v); ok {
			if c, ok := countries()[string(k)]; ok {
				return c, nil
			}
		}
	}
	key := countryKey(v)
	if key == "" {
		return "", nil
	}
	if c, ok := countries()[key]; ok {
		return c, nil
	}
	return "", kith.Violations{reject(kith.FieldCountry, "invalid_country", "is not a country we know: use a name or an ISO 3166-1 code like NO or NOR")}
}

// plainKey appends s lower-cased to b when s is letters (of any script) with
// single spaces between words; ok is false for anything else.
func plainKey(b []byte, s string) (key []byte, ok bool) {
	space := true // at the start, as after a space: no leading space
	for _, r := range s {
		switch {
		case r == ' ':
			if space {
				return nil, false
			}
			space = true
		case r < utf8.RuneSelf && (r|0x20 >= 'a' && r|0x20 <= 'z'):
			r |= 0x20
			space = false
		case r >= utf8.RuneSelf && unicode.IsLetter(r):
			r = foldCase(unicode.ToLower(r))
			space = false
		default:
			return nil, false
		}
		b = utf8.AppendRune(b, r)
	}
	return b, !space
}

// countries maps normalized codes, names and variants to alpha-2 codes. It
// is built on first use (tens of milliseconds: every country's names in two
// dozen languages), so processes that read no countries never pay for it.
var countries = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	withdrawn := map[string]string{}
	english := display.English.Regions()
	var names []string
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || !r.IsCountry() || r.String() != code || notISOCountries[code] {
				continue
			}
			// ZZZ marks codes that are not ISO 3166-1 countries (UK, EU, UN …). A
			// withdrawn code either canonicalizes to its successor (FX → FR, ZR → CD,
			// TP → TL) and shares its name, which it must not take over, or was
			// split and has no name left (SU, YU, CS, AN).
			name := english.Name(r)
			if r.ISO3() == "ZZZ" || name == "" {
				continue
			}
			if c := r.Canonicalize(); c != r {
				withdrawn[code] = c.String()
				continue
			}
			m[countryKey(code)] = code
			m[countryKey(r.ISO3())] = code
			m[countryKey(name)] = code
			names = append(names, name)
		}
	}
	for variant, code := range countryVariants {
		m[countryKey(variant)] = code
	}
	// Names in other languages (CLDR): first each country's name in its own
	// languages (Deutschland, España, 日本), then in the languages customer lists
	// are most often written in (Frankreich, Allemagne); a name another
	// country already has keeps its first meaning.
	codes := slices.Sorted(maps.Values(m))
	codes = slices.Compact(codes)
	add := func(name, code string) {
		if name == "" {
			return
		}
		if _, taken := m[countryKey(name)]; !taken {
			m[countryKey(name)] = code
		}
		names = append(names, name)
	}
	for _, code := range codes {
		r := language.MustParseRegion(code)
		for _, lang := range nativeLanguages(code) {
			if namer := display.Regions(lang); namer != nil { // nil: CLDR has no names in it
				add(namer.Name(r), code)
			}
		}
	}
	for _, lang := range listLanguages {
		namer := display.Regions(language.MustParse(lang))
		for _, code := range codes {
			if namer == nil {
				break
			}
			add(namer.Name(language.MustParseRegion(code)), code)
		}
	}
	// Names with accents are also keyed as written, lower-cased, for the fast
	// path (españa, österreich).
	for _, name := range append(names, slices.Sorted(maps.Keys(countryVariants))...) {
		if k, ok := plainKey(nil, name); ok {
			if _, taken := m[string(k)]; !taken {
				m[string(k)] = m[countryKey(name)]
			}
		}
	}
	// Data written with a withdrawn code reads as its successor.
	for old, code := range withdrawn {
		if _, ok := m[countryKey(old)]; !ok && m[countryKey(code)] == code {
			m[countryKey(old)] = code
		}
	}
	return m
})

// notISOCountries are codes CLDR names as regions that ISO 3166-1 only reserves
// (islands and territories that are part of another country's code). XK (Kosovo)
// is kept: it is user-assigned, but it is what every registry and phone plan uses.
var notISOCountries = map[string]bool{
	"AC": true, "CP": true, "DG": true, "EA": true, "IC": true, "TA": true,
}

// listLanguages are the languages whose names of every country are read too.
var listLanguages = []string{"de", "fr", "es", "it", "pt", "nl", "sv", "nb", "da", "fi", "pl", "cs", "hu", "ro", "el", "tr", "ru", "uk", "ja", "zh", "ko", "ar", "he"}

// extraLanguages are official languages of countries with several, beyond
// the one CLDR's likely subtags give.
var extraLanguages = map[string][]string{
	"CH": {"fr", "it", "rm"}, "BE": {"fr", "de"}, "CA": {"fr"}, "LU": {"fr", "de"}, "FI": {"sv"},
	"IE": {"ga"}, "ES": {"ca", "eu", "gl"}, "IN": {"en"}, "ZA": {"af", "zu"}, "SG": {"zh", "ms", "ta"},
}

// nativeLanguages are the languages a country's own people name it in.
func nativeLanguages(code string) []language.Tag {
	out := []language.Tag{}
	if t, err := language.Parse("und-" + code); err == nil {
		if max, err := language.Compose(t); err == nil {
			if full, _ := max.Base(); full.String() != "und" {
				out = append(out, language.Make(full.String()))
			}
		}
		if b, conf := t.Base(); conf != language.No {
			out = append(out, language.Make(b.String()))
		}
	}
	for _, l := range extraLanguages[code] {
		out = append(out, language.Make(l))
	}
	return out
}

// countryVariants are names people write that are not the English short name.
var countryVariants = map[string]string{
	"UK": "GB", "Great Britain": "GB", "Britain": "GB", "England": "GB", "Scotland": "GB",
	"Wales": "GB", "Northern Ireland": "GB", "United Kingdom of Great Britain and Northern Ireland": "GB",
	"USA": "US", "U.S.A.": "US", "U.S.": "US", "America": "US", "United States of America": "US",
	"Holland": "NL", "The Netherlands": "NL", "Nederland": "NL", "Deutschland": "DE",
	"Germany, Federal Republic of": "DE", "España": "ES", "Espana": "ES", "Italia": "IT",
	"Schweiz": "CH", "Suisse": "CH", "Svizzera": "CH", "Österreich": "AT", "Sverige": "SE",
	"Norge": "NO", "Danmark": "DK", "Suomi": "FI", "Polska": "PL", "Brasil": "BR",
	"México": "MX", "Russian Federation": "RU", "Republic of Korea": "KR", "South Korea": "KR",
	"Korea, Republic of": "KR", "North Korea": "KP", "Czech Republic": "CZ", "Czechia": "CZ",
	"Ivory Coast": "CI", "Cote d'Ivoire": "CI", "Viet Nam": "VN", "UAE": "AE",
	"Republic of Ireland": "IE", "Eire": "IE", "Türkiye": "TR", "Turkey": "TR",
	"Hong Kong": "HK", "Macao": "MO", "Burma": "MM", "Swaziland": "SZ", "Cape Verde": "CV",
	"East Timor": "TL", "Vatican": "VA", "Holy See": "VA", "Macedonia": "MK",
	"Bosnia": "BA", "Bosnia and Herzegovina": "BA", "Congo-Kinshasa": "CD", "Congo-Brazzaville": "CG",
	"DR Congo": "CD", "Democratic Republic of the Congo": "CD", "Republic of the Congo": "CG",
	// Official long forms, in the country's languages (CLDR has the short ones).
	"République française": "FR", "Bundesrepublik Deutschland": "DE", "Reino de España": "ES",
	"Republik Österreich": "AT", "Schweizerische Eidgenossenschaft": "CH", "Confédération suisse": "CH",
	"Confederazione Svizzera": "CH", "Koninkrijk der Nederlanden": "NL", "Koninkrijk België": "BE",
	"Royaume de Belgique": "BE", "Repubblica Italiana": "IT", "República Portuguesa": "PT",
	"Kongeriket Norge": "NO", "Konungariket Sverige": "SE", "Kongeriget Danmark": "DK",
	"Suomen tasavalta": "FI", "Rzeczpospolita Polska": "PL", "Česká republika": "CZ",
	"Ελληνική Δημοκρατία": "GR", "Российская Федерация": "RU", "Estados Unidos Mexicanos": "MX",
	"República Federativa do Brasil": "BR", "República Argentina": "AR", "Éire": "IE",
	"Grand-Duché de Luxembourg": "LU", "Türkiye Cumhuriyeti": "TR", "Magyarország": "HU",
	"日本国": "JP", "中华人民共和国": "CN", "대한민국": "KR", "ประเทศไทย": "TH", "Україна": "UA",
}

var stripMarks = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// foldCase folds the lower-case letters that upper-casing does not give back:
// Turkish dotless ı (KIBRIS is Kıbrıs) and Greek final ς (ΚΎΠΡΟΣ is Κύπρος).
func foldCase(r rune) rune {
	switch r {
	case 'ı':
		return 'i'
	case 'ς':
		return 'σ'
	}
	return r
}

// countryKey folds case, accents, punctuation and a leading "the".
func countryKey(s string) string {
	if isASCII(s) {
		s = strings.ToLower(s)
	} else if t, _, err := transform.String(stripMarks, s); err == nil {
		s = strings.ToLower(t)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '.' || r == '\'' || r == '’' || r == ',' || r == '(' || r == ')':
		case r == '&':
			b.WriteString(" and")
			space = true
		case unicode.IsSpace(r) || r == '-':
			space = b.Len() > 0
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(foldCase(r))
		}
	}
	return strings.TrimPrefix(b.String(), "the ")
}
