// Package quality validates and standardizes customer data. It is pure: no I/O,
// no clock, no globals that change.
//
// The rules here are the minimal set the foundation needs (trim, email syntax and
// case, ISO dates, country codes); the full rules (phones to E.164, date formats,
// names, completeness, imputation) build on this entry point.
package quality

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kithhq/kith"
)

// Standardize trims every value and standardizes the fields it knows, returning
// the standardized record (empty values dropped) and its violations. The violations
// never contain the value itself, so they are safe to log.
func Standardize(raw map[kith.Field]string) (map[kith.Field]string, kith.Violations) {
	out := make(map[kith.Field]string, len(raw))
	var vs kith.Violations
	for _, f := range kith.ProfileFields {
		v, ok := raw[f]
		if !ok {
			continue
		}
		if !utf8.ValidString(v) {
			vs = append(vs, reject(f, "not_utf8", "is not valid UTF-8 text"))
			continue
		}
		v = strings.Join(strings.FieldsFunc(v, unicode.IsSpace), " ")
		if v == "" {
			continue
		}
		std, v2 := standardizeField(f, v)
		if v2 != nil {
			vs = append(vs, *v2)
			continue
		}
		out[f] = std
	}
	return out, vs
}

func standardizeField(f kith.Field, v string) (string, *kith.Violation) {
	switch f {
	case kith.FieldEmail:
		return Email(v)
	case kith.FieldBirthDate:
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			vr := reject(f, "invalid_date", "must be a date in the form YYYY-MM-DD")
			return "", &vr
		}
	case kith.FieldCountry:
		if len(v) != 2 || !isLetters(v) {
			vr := reject(f, "invalid_country", "must be a two-letter ISO 3166-1 country code")
			return "", &vr
		}
		return strings.ToUpper(v), nil
	}
	return v, nil
}

// Email lower-cases and checks an email address: one @, a non-empty local part of at
// most 64 bytes, a dotted domain, no spaces, at most 254 bytes in all.
func Email(v string) (string, *kith.Violation) {
	v = strings.ToLower(strings.TrimSpace(v))
	local, domain, ok := strings.Cut(v, "@")
	switch {
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		vr := reject(kith.FieldEmail, "invalid_email", "must be an address like name@example.com")
		return "", &vr
	case len(v) > 254 || len(local) > 64:
		vr := reject(kith.FieldEmail, "email_too_long", "is longer than an address may be")
		return "", &vr
	case strings.ContainsAny(v, " \t,;<>()[]\\\""):
		vr := reject(kith.FieldEmail, "invalid_email", "contains a character an address may not")
		return "", &vr
	case !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		vr := reject(kith.FieldEmail, "invalid_email_domain", "needs a domain like example.com after the @")
		return "", &vr
	}
	return v, nil
}

func isLetters(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

func reject(f kith.Field, code, msg string) kith.Violation {
	return kith.Violation{Field: string(f), Code: code, Message: msg, Severity: kith.SeverityReject}
}
