package quality

import (
	"strconv"
	"strings"
	"time"

	"github.com/kithhq/kith"
)

// monthFirst are the regions that write numeric dates month first (MM/DD/YYYY).
// Everywhere else a slash or dash date is read day first; a dotted date is always
// day first. Canada writes both; it is read day first (its official form is ISO).
var monthFirst = map[string]bool{
	"US": true, "PH": true, "FM": true, "MH": true, "PW": true,
	"GU": true, "PR": true, "VI": true, "AS": true, "MP": true, "UM": true,
}

// ParsedDate is a calendar date read from text.
type ParsedDate struct {
	Time time.Time // midnight UTC
	// Guessed is set when the text was ambiguous (03/04/2020) and the order of day
	// and month was taken from the region.
	Guessed bool
}

// ISO returns the date as YYYY-MM-DD.
func (d ParsedDate) ISO() string {
	y, m, day := d.Time.Date()
	if y < 0 || y > 9999 {
		return d.Time.Format(time.DateOnly)
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + day/10), byte('0' + day%10)}
	return string(b[:])
}

// ParseDate reads a date written as ISO 8601 (2020-04-03, with or without a time),
// YYYYMMDD, YYYY/MM/DD, DD.MM.YYYY, DD/MM/YYYY or MM/DD/YYYY (by region when both
// could be meant), with a month name in any order (3 April 2020, April 3rd, 2020,
// 03-Apr-2020), or as Unix seconds. Two-digit years are refused rather than guessed.
func ParseDate(v, region string, f kith.Field) (ParsedDate, kith.Violations) {
	d, guessed, vs := parseDate(v, region, f)
	if d == (civil{}) {
		return ParsedDate{}, vs
	}
	return ParsedDate{Time: d.time(), Guessed: guessed}, vs
}

// civil is a calendar date: year, month 1–12, day 1–31.
type civil struct{ y, m, d int }

func civilOf(t time.Time) civil {
	y, m, d := t.Date()
	return civil{y, int(m), d}
}

func (c civil) time() time.Time { return time.Date(c.y, time.Month(c.m), c.d, 0, 0, 0, 0, time.UTC) }

func (c civil) before(o civil) bool {
	if c.y != o.y {
		return c.y < o.y
	}
	if c.m != o.m {
		return c.m < o.m
	}
	return c.d < o.d
}

// yearsTo is the age in whole years on day o of a person born on c.
func (c civil) yearsTo(o civil) int {
	age := o.y - c.y
	if o.m < c.m || (o.m == c.m && o.d < c.d) {
		age--
	}
	return age
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDate is ParseDate without building a time.Time; the zero civil means no date.
func parseDate(v, region string, f kith.Field) (civil, bool, kith.Violations) {
	v = strings.TrimSpace(v)
	bad := func(msg string) (civil, bool, kith.Violations) {
		return civil{}, false, kith.Violations{reject(f, "invalid_date", msg)}
	}
	if v == "" {
		return bad("is empty")
	}
	if allDigits(v) {
		switch {
		case len(v) == 8:
			d, vs := ymd(v[:4], v[4:6], v[6:], f)
			return d, false, vs
		case len(v) >= 9 && len(v) <= 11:
			secs, _ := strconv.ParseInt(v, 10, 64)
			return civilOf(time.Unix(secs, 0).UTC()), false, nil
		}
		return bad("is not a date: write it like 2020-04-03")
	}
	// ISO 8601 with a time: keep the date.
	if len(v) > 10 && (v[10] == 'T' || v[10] == ' ') && v[4] == '-' {
		v = v[:10]
	}
	if d, guessed, vs, ok := parseNumericDate(v, region, f); ok {
		return d, guessed, vs
	}
	if d, vs, ok := parseNamedMonth(v, f); ok {
		return d, false, vs
	}
	return bad("is not a date we can read: write it like 2020-04-03")
}

func parseNumericDate(v, region string, f kith.Field) (civil, bool, kith.Violations, bool) {
	i := strings.IndexAny(v, "/.-")
	if i < 0 {
		return civil{}, false, nil, false
	}
	sep := v[i]
	a, rest := v[:i], v[i+1:]
	j := strings.IndexByte(rest, sep)
	if j < 0 {
		return civil{}, false, nil, false
	}
	b, c := rest[:j], rest[j+1:]
	if !allDigits(a) || !allDigits(b) || !allDigits(c) {
		return civil{}, false, nil, false
	}
	if len(a) == 4 {
		d, vs := ymd(a, b, c, f)
		return d, false, vs, true
	}
	if len(c) != 4 {
		return civil{}, false, kith.Violations{reject(f, "invalid_date", "needs a four-digit year")}, true
	}
	ai, _ := strconv.Atoi(a)
	bi, _ := strconv.Atoi(b)
	dayFirst := true
	guessed := false
	switch {
	case sep == '.':
	case ai > 12:
	case bi > 12:
		dayFirst = false
	case ai == bi:
	default:
		dayFirst = !monthFirst[region]
		guessed = true
	}
	var d civil
	var vs kith.Violations
	if dayFirst {
		d, vs = ymd(c, b, a, f)
	} else {
		d, vs = ymd(c, a, b, f)
	}
	if !guessed || len(vs) != 0 {
		return d, false, vs, true
	}
	return d, true, kith.Violations{warn(f, "ambiguous_date", ambiguousMessage(region, dayFirst))}, true
}

// ambiguousMessage says how an ambiguous date was read.
func ambiguousMessage(region string, dayFirst bool) string {
	order, where := "day/month", region
	if !dayFirst {
		order = "month/day"
	}
	if where == "" {
		where = "no country"
	}
	return "could be read two ways; read as " + order + " for " + where
}

var monthNames = map[string]time.Month{}

func init() {
	for m := time.January; m <= time.December; m++ {
		name := strings.ToLower(m.String())
		monthNames[name] = m
		monthNames[name[:3]] = m
	}
	monthNames["sept"] = time.September
}

func parseNamedMonth(v string, f kith.Field) (civil, kith.Violations, bool) {
	fields := strings.FieldsFunc(strings.ToLower(v), func(r rune) bool {
		return r == ' ' || r == ',' || r == '-' || r == '.' || r == '/'
	})
	if len(fields) != 3 {
		return civil{}, nil, false
	}
	var month time.Month
	var year, day string
	for _, t := range fields {
		if m, ok := monthNames[t]; ok && month == 0 {
			month = m
			continue
		}
		t = strings.TrimRight(t, "stndrh") // 1st, 2nd, 3rd, 4th
		switch {
		case !allDigits(t) || t == "":
			return civil{}, nil, false
		case len(t) == 4 && year == "":
			year = t
		case len(t) <= 2 && day == "":
			day = t
		default:
			return civil{}, nil, false
		}
	}
	if month == 0 || year == "" || day == "" {
		return civil{}, nil, false
	}
	d, vs := ymd(year, strconv.Itoa(int(month)), day, f)
	return d, vs, true
}

// ymd builds a date from decimal strings, rejecting impossible ones (2021-02-29).
func ymd(y, m, d string, f kith.Field) (civil, kith.Violations) {
	yi, err1 := strconv.Atoi(y)
	mi, err2 := strconv.Atoi(m)
	di, err3 := strconv.Atoi(d)
	if err1 != nil || err2 != nil || err3 != nil || len(y) != 4 {
		return civil{}, kith.Violations{reject(f, "invalid_date", "is not a date: write it like 2020-04-03")}
	}
	if mi < 1 || mi > 12 || di < 1 || di > daysIn(yi, mi) || yi < 1000 {
		return civil{}, kith.Violations{reject(f, "invalid_date", "is not a date that exists")}
	}
	return civil{yi, mi, di}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// BirthDate reads a birth date (see ParseDate) and rejects one in the future or
// that makes the person older than maxAge on now.
func BirthDate(v, region string, now time.Time, maxAge int) (ParsedDate, kith.Violations) {
	d, guessed, vs := parseDate(v, region, kith.FieldBirthDate)
	if d == (civil{}) {
		return ParsedDate{}, vs
	}
	today := civilOf(now)
	if today.before(d) {
		return ParsedDate{}, kith.Violations{reject(kith.FieldBirthDate, "future_birth_date", "is in the future")}
	}
	if d.yearsTo(today) > maxAge {
		return ParsedDate{}, kith.Violations{reject(kith.FieldBirthDate, "implausible_birth_date", "makes the person older than "+strconv.Itoa(maxAge))}
	}
	return ParsedDate{Time: d.time(), Guessed: guessed}, vs
}

// AgeOn returns a person's age in whole years on day now.
func AgeOn(birth, now time.Time) int {
	return civilOf(birth).yearsTo(civilOf(now))
}
