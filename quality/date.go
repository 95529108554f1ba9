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
	v = strings.TrimSpace(v)
	bad := func(msg string) (ParsedDate, kith.Violations) {
		return ParsedDate{}, kith.Violations{reject(f, "invalid_date", msg)}
	}
	if v == "" {
		return bad("is empty")
	}
	if allDigits(v) {
		switch {
		case len(v) == 8:
			return ymd(v[:4], v[4:6], v[6:], f)
		case len(v) >= 9 && len(v) <= 11:
			secs, _ := strconv.ParseInt(v, 10, 64)
			t := time.Unix(secs, 0).UTC()
			return ParsedDate{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}, nil
		}
		return bad("is not a date: write it like 2020-04-03")
	}
	// ISO 8601 with a time: keep the date.
	if len(v) > 10 && (v[10] == 'T' || v[10] == ' ') && v[4] == '-' {
		v = v[:10]
	}
	if d, vs, ok := parseNumericDate(v, region, f); ok {
		return d, vs
	}
	if d, vs, ok := parseNamedMonth(v, f); ok {
		return d, vs
	}
	return bad("is not a date we can read: write it like 2020-04-03")
}

func parseNumericDate(v, region string, f kith.Field) (ParsedDate, kith.Violations, bool) {
	sep := byte(0)
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '/' || c == '.' || c == '-' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ParsedDate{}, nil, false
	}
	a, rest, _ := strings.Cut(v, string(sep))
	b, c, ok := strings.Cut(rest, string(sep))
	if !ok || !allDigits(a) || !allDigits(b) || !allDigits(c) {
		return ParsedDate{}, nil, false
	}
	if len(a) == 4 {
		d, vs := ymd(a, b, c, f)
		return d, vs, true
	}
	if len(c) != 4 {
		return ParsedDate{}, kith.Violations{reject(f, "invalid_date", "needs a four-digit year")}, true
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
	var d ParsedDate
	var vs kith.Violations
	if dayFirst {
		d, vs = ymd(c, b, a, f)
	} else {
		d, vs = ymd(c, a, b, f)
	}
	if guessed && len(vs) == 0 {
		d.Guessed = true
		order, where := "day/month", region
		if !dayFirst {
			order = "month/day"
		}
		if where == "" {
			where = "no country"
		}
		vs = append(vs, warn(f, "ambiguous_date", "could be read two ways; read as "+order+" for "+where))
	}
	return d, vs, true
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

func parseNamedMonth(v string, f kith.Field) (ParsedDate, kith.Violations, bool) {
	fields := strings.FieldsFunc(strings.ToLower(v), func(r rune) bool {
		return r == ' ' || r == ',' || r == '-' || r == '.' || r == '/'
	})
	if len(fields) != 3 {
		return ParsedDate{}, nil, false
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
			return ParsedDate{}, nil, false
		case len(t) == 4 && year == "":
			year = t
		case len(t) <= 2 && day == "":
			day = t
		default:
			return ParsedDate{}, nil, false
		}
	}
	if month == 0 || year == "" || day == "" {
		return ParsedDate{}, nil, false
	}
	d, vs := ymd(year, strconv.Itoa(int(month)), day, f)
	return d, vs, true
}

// ymd builds a date from decimal strings, rejecting impossible ones (2021-02-29).
func ymd(y, m, d string, f kith.Field) (ParsedDate, kith.Violations) {
	yi, err1 := strconv.Atoi(y)
	mi, err2 := strconv.Atoi(m)
	di, err3 := strconv.Atoi(d)
	if err1 != nil || err2 != nil || err3 != nil || len(y) != 4 {
		return ParsedDate{}, kith.Violations{reject(f, "invalid_date", "is not a date: write it like 2020-04-03")}
	}
	t := time.Date(yi, time.Month(mi), di, 0, 0, 0, 0, time.UTC)
	if mi < 1 || mi > 12 || di < 1 || t.Day() != di || yi < 1000 {
		return ParsedDate{}, kith.Violations{reject(f, "invalid_date", "is not a date that exists")}
	}
	return ParsedDate{Time: t}, nil
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
	d, vs := ParseDate(v, region, kith.FieldBirthDate)
	if d.Time.IsZero() {
		return d, vs
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if d.Time.After(today) {
		return ParsedDate{}, kith.Violations{reject(kith.FieldBirthDate, "future_birth_date", "is in the future")}
	}
	if AgeOn(d.Time, now) > maxAge {
		return ParsedDate{}, kith.Violations{reject(kith.FieldBirthDate, "implausible_birth_date", "makes the person older than "+strconv.Itoa(maxAge))}
	}
	return d, vs
}

// AgeOn returns a person's age in whole years on day now.
func AgeOn(birth, now time.Time) int {
	age := now.Year() - birth.Year()
	if now.Month() < birth.Month() || (now.Month() == birth.Month() && now.Day() < birth.Day()) {
		age--
	}
	return age
}
