package quality

import (
	"strconv"

	"github.com/nyaruka/phonenumbers/v2"

	"github.com/kithhq/kith"
)

// PhoneNumber is a standardized phone number.
type PhoneNumber struct {
	E164      string // +4722334455
	Type      string // mobile, fixed_line, fixed_line_or_mobile, toll_free, voip, …
	Extension string // digits after "ext." / "x", kept apart from the number
}

// Phone parses a phone number written in international form (+…) or in the
// national form of region (the record's country, else the configured default),
// and returns it in E.164 with its type and extension. A number that is not valid
// for its region is rejected.
func Phone(v, region string) (PhoneNumber, kith.Violations) {
	var n phonenumbers.PhoneNumber
	return parsePhone(v, region, &n)
}

// parsePhone is Phone, parsing into n (which a caller may read further).
func parsePhone(v, region string, n *phonenumbers.PhoneNumber) (PhoneNumber, kith.Violations) {
	if err := phonenumbers.ParseToNumber(v, region, n); err != nil {
		msg := "is not a phone number"
		if err == phonenumbers.ErrInvalidCountryCode {
			msg = "needs a country code like +47, or a country on the record"
		}
		return PhoneNumber{}, kith.Violations{reject(kith.FieldPhone, "invalid_phone", msg)}
	}
	// One type lookup answers validity too: a number is valid exactly when it
	// matches one of its region's number types (this is IsValidNumber's own test).
	typ, nsn := numberType(n)
	if typ == phonenumbers.UNKNOWN {
		where := region
		if where == "" {
			where = "+" + strconv.Itoa(int(n.GetCountryCode()))
		}
		return PhoneNumber{}, kith.Violations{reject(kith.FieldPhone, "invalid_phone", "is not a valid number for "+where)}
	}
	return PhoneNumber{
		E164:      "+" + strconv.Itoa(int(n.GetCountryCode())) + nsn, // phonenumbers.Format's E164 case
		Type:      phoneTypes[typ],
		Extension: n.GetExtension(),
	}, nil
}

var phoneTypes = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE:           "fixed_line",
	phonenumbers.MOBILE:               "mobile",
	phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.TOLL_FREE:            "toll_free",
	phonenumbers.PREMIUM_RATE:         "premium_rate",
	phonenumbers.SHARED_COST:          "shared_cost",
	phonenumbers.VOIP:                 "voip",
	phonenumbers.PERSONAL_NUMBER:      "personal_number",
	phonenumbers.PAGER:                "pager",
	phonenumbers.UAN:                  "uan",
	phonenumbers.VOICEMAIL:            "voicemail",
	phonenumbers.UNKNOWN:              "unknown",
}

// international reports whether a phone is written with its country code (+…).
func international(v string) bool {
	for _, r := range v {
		switch {
		case r == '+' || r == '＋':
			return true
		case r == ' ' || r == '\t' || r == '(':
		default:
			return false
		}
	}
	return false
}

// guessRegion returns the one region of regions, other than tried, whose reading
// of a national number is valid, or "" when none is or the readings disagree
// (two regions reading the same E.164 number, as US and CA do, agree). Only a
// source's own markets are tried: number plans are dense, and "12345" is a valid
// number somewhere (Austria), so a guess among all countries would accept garbage.
func guessRegion(v, tried string, regions []string) string {
	found, e164 := "", ""
	for _, region := range regions {
		if region == tried {
			continue
		}
		p, vs := Phone(v, region)
		if len(vs) > 0 || p.E164 == "" {
			continue
		}
		switch {
		case e164 == "":
			found, e164 = region, p.E164
		case p.E164 != e164:
			return ""
		}
	}
	return found
}

// regionOf is the country a parsed number belongs to by its number plan (+47 4…
// → NO, +1 416… → CA), or "" for non-geographic and unknown numbers.
func regionOf(n *phonenumbers.PhoneNumber) string {
	switch r := phonenumbers.GetRegionCodeForNumber(n); r {
	case "", "ZZ", "001":
		return ""
	default:
		return r
	}
}
