package dedup

// The compared fields, each with its comparison levels. Level 0 is "missing on
// either side" and carries no evidence; level 1 is the strongest agreement.
const (
	fEmail = iota
	fPhone
	fFirst
	fLast
	fBirth
	fPostal
	fCity
	fAddress
	numFields
)

// levelsPerField is how many levels (including missing) each field has; patterns
// are numbers in base maxLevels.
const maxLevels = 5

var fieldNames = [numFields]string{"email", "phone", "first_name", "last_name", "birth_date", "postal_code", "city", "address"}

var levelNames = [numFields][]string{
	{"missing", "exact", "same local part or 1–2 edits", "different"},
	{"missing", "exact", "same last 7 digits", "different"},
	{"missing", "exact or nickname", "Jaro-Winkler ≥ 0.92", "Jaro-Winkler ≥ 0.80", "different"},
	{"missing", "exact", "Jaro-Winkler ≥ 0.92", "Jaro-Winkler ≥ 0.80", "different"},
	{"missing", "exact", "day and month swapped, or one digit off", "different"},
	{"missing", "exact", "different"},
	{"missing", "exact", "Jaro-Winkler ≥ 0.90", "different"},
	{"missing", "exact", "same house number, Jaro-Winkler ≥ 0.88", "different"},
}

// pattern is a comparison vector: one level per field, in base maxLevels.
type pattern uint32

func (p pattern) level(f int) int {
	for range f {
		p /= maxLevels
	}
	return int(p % maxLevels)
}

// compare returns the comparison vector of two records.
func compare(a, b *normalized) pattern {
	var lv [numFields]int
	// Emails.
	switch {
	case a.email == "" || b.email == "":
	case a.email == b.email:
		lv[fEmail] = 1
	case a.emailLocal != "" && (a.emailLocal == b.emailLocal || withinEdits(a.email, b.email, 2)):
		lv[fEmail] = 2
	default:
		lv[fEmail] = 3
	}
	// Phones.
	switch {
	case a.phone == "" || b.phone == "":
	case a.phone == b.phone:
		lv[fPhone] = 1
	case len(a.phone) >= 7 && len(b.phone) >= 7 && a.phone[len(a.phone)-7:] == b.phone[len(b.phone)-7:]:
		lv[fPhone] = 2
	default:
		lv[fPhone] = 3
	}
	// Names, allowing first and last written the other way round (with a typo
	// too): the crossed reading counts when both its names nearly agree and it
	// agrees better than the straight one.
	lv[fFirst] = nameLevel(a.firstCanon, b.firstCanon)
	lv[fLast] = nameLevel(a.last, b.last)
	if lv[fFirst]+lv[fLast] > 2 && a.firstCanon != "" && a.last != "" {
		cf, cl := nameLevel(a.firstCanon, b.lastCanon), nameLevel(a.lastCanon, b.firstCanon)
		if cf >= 1 && cf <= 2 && cl >= 1 && cl <= 2 && cf+cl < lv[fFirst]+lv[fLast] {
			lv[fFirst], lv[fLast] = cf, cl
		}
	}
	// Birth dates.
	switch {
	case a.birth == 0 || b.birth == 0:
	case a.birth == b.birth:
		lv[fBirth] = 1
	case dateTypo(a.birthISO, b.birthISO):
		lv[fBirth] = 2
	default:
		lv[fBirth] = 3
	}
	switch {
	case a.postal == "" || b.postal == "":
	case a.postal == b.postal:
		lv[fPostal] = 1
	default:
		lv[fPostal] = 2
	}
	switch {
	case a.city == "" || b.city == "":
	case a.city == b.city:
		lv[fCity] = 1
	case JaroWinkler(a.city, b.city) >= 0.9:
		lv[fCity] = 2
	default:
		lv[fCity] = 3
	}
	switch {
	case a.address == "" || b.address == "":
	case a.address == b.address:
		lv[fAddress] = 1
	case a.houseNumber != "" && a.houseNumber == b.houseNumber && JaroWinkler(a.address, b.address) >= 0.88:
		lv[fAddress] = 2
	default:
		lv[fAddress] = 3
	}
	var p pattern
	for f := numFields - 1; f >= 0; f-- {
		p = p*maxLevels + pattern(lv[f])
	}
	return p
}

func nameLevel(a, b string) int {
	switch {
	case a == "" || b == "":
		return 0
	case a == b:
		return 1
	}
	switch jw := JaroWinkler(a, b); {
	case jw >= 0.92:
		return 2
	case jw >= 0.80:
		return 3
	}
	return 4
}

// dateTypo reports whether two ISO dates differ by a swapped day and month or a
// single digit.
func dateTypo(a, b string) bool {
	if len(a) != 10 || len(b) != 10 {
		return false
	}
	if a[:4] == b[:4] && a[5:7] == b[8:10] && a[8:10] == b[5:7] {
		return true
	}
	diff := 0
	for i := 0; i < 10; i++ {
		if a[i] != b[i] {
			diff++
		}
	}
	return diff == 1
}
