package quality

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers/v2"
	"github.com/nyaruka/phonenumbers/v2/metadata"
)

// numberPlan is one region's number patterns compiled once. phonenumbers'
// GetNumberType rebuilds each pattern string and looks it up in a global regexp
// cache on every call (twice per number type); for one record that costs more than
// everything else Record does. The rules are the library's own
// (getNumberTypeHelper and getRegionCodeForNumberFromRegionList, from
// libphonenumber), applied to the same metadata; TestNumberPlanAgreesWithLibrary
// holds them equal.
type numberPlan struct {
	leading *regexp.Regexp // leading digits that pick this region among those sharing its code
	general *numberDesc
	special []typedDesc // checked in this order before fixed line and mobile
	fixed   *numberDesc
	mobile  *numberDesc
	// sameFixedMobile: the region's fixed-line and mobile patterns are the same.
	sameFixedMobile bool
}

type numberDesc struct {
	lengths []int32
	first   uint16         // bit d set: a number starting with digit d may match
	dfa     *digitDFA      // the pattern as an automaton, when it compiles to one
	re      *regexp.Regexp // nil: the description matches nothing
}

type typedDesc struct {
	typ  phonenumbers.PhoneNumberType
	desc *numberDesc
}

func compileDesc(d *metadata.PhoneNumberDesc) *numberDesc {
	out := &numberDesc{lengths: d.GetPossibleLength()}
	if p := d.GetNationalNumberPattern(); p != "" {
		out.re = regexp.MustCompile("^(?:" + p + ")$")
		out.dfa, _ = compileDigitDFA(p)
		out.first = everyDigit
		if tree, err := syntax.Parse(p, syntax.Perl); err == nil {
			if set, canBeEmpty := firstDigits(tree); !canBeEmpty {
				out.first = set
			}
		}
	}
	return out
}

const everyDigit = 1<<10 - 1

// firstDigits returns the digits a match of re can start with, and whether re
// can match the empty string (then what follows it can start a match too).
// Unsure cases answer every digit.
func firstDigits(re *syntax.Regexp) (set uint16, canBeEmpty bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0, true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return 0, true
		}
		return digitSet(re.Rune[0], re.Rune[0]), false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			set |= digitSet(re.Rune[i], re.Rune[i+1])
		}
		return set, false
	case syntax.OpCapture, syntax.OpPlus:
		return firstDigits(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		set, _ = firstDigits(re.Sub[0])
		return set, true
	case syntax.OpRepeat:
		set, canBeEmpty = firstDigits(re.Sub[0])
		return set, canBeEmpty || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			s, empty := firstDigits(sub)
			set |= s
			if !empty {
				return set, false
			}
		}
		return set, true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			s, empty := firstDigits(sub)
			set |= s
			canBeEmpty = canBeEmpty || empty
		}
		return set, canBeEmpty
	}
	return everyDigit, true
}

// digitSet is the set of digits in the rune range [lo, hi].
func digitSet(lo, hi rune) uint16 {
	var set uint16
	for d := max(lo, '0'); d <= min(hi, '9'); d++ {
		set |= 1 << (d - '0')
	}
	return set
}

func (d *numberDesc) matches(nsn string) bool {
	if d.re == nil || d.first&(1<<(nsn[0]-'0')) == 0 {
		return false
	}
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(nsn))) {
		return false
	}
	if d.dfa != nil {
		return d.dfa.match(nsn)
	}
	return d.re.MatchString(nsn)
}

func compilePlan(m *metadata.PhoneMetadata) *numberPlan {
	p := &numberPlan{
		general: compileDesc(m.GetGeneralDesc()),
		special: []typedDesc{
			{phonenumbers.PREMIUM_RATE, compileDesc(m.GetPremiumRate())},
			{phonenumbers.TOLL_FREE, compileDesc(m.GetTollFree())},
			{phonenumbers.SHARED_COST, compileDesc(m.GetSharedCost())},
			{phonenumbers.VOIP, compileDesc(m.GetVoip())},
			{phonenumbers.PERSONAL_NUMBER, compileDesc(m.GetPersonalNumber())},
			{phonenumbers.PAGER, compileDesc(m.GetPager())},
			{phonenumbers.UAN, compileDesc(m.GetUan())},
			{phonenumbers.VOICEMAIL, compileDesc(m.GetVoicemail())},
		},
		fixed:           compileDesc(m.GetFixedLine()),
		mobile:          compileDesc(m.GetMobile()),
		sameFixedMobile: m.GetSameMobileAndFixedLinePattern(),
	}
	if l := m.GetLeadingDigits(); l != "" {
		p.leading = regexp.MustCompile("^(?:" + l + ")")
	}
	return p
}

// numberType is getNumberTypeHelper over compiled patterns.
func (p *numberPlan) numberType(nsn string) phonenumbers.PhoneNumberType {
	if !p.general.matches(nsn) {
		return phonenumbers.UNKNOWN
	}
	for _, s := range p.special {
		if s.desc.matches(nsn) {
			return s.typ
		}
	}
	if p.fixed.matches(nsn) {
		if p.sameFixedMobile || p.mobile.matches(nsn) {
			return phonenumbers.FIXED_LINE_OR_MOBILE
		}
		return phonenumbers.FIXED_LINE
	}
	if !p.sameFixedMobile && p.mobile.matches(nsn) {
		return phonenumbers.MOBILE
	}
	return phonenumbers.UNKNOWN
}

// plans caches compiled plans by region code ("001:<calling code>" for
// non-geographic entities such as +800).
var plans sync.Map

func planFor(key string, load func() (*metadata.PhoneMetadata, bool)) *numberPlan {
	if p, ok := plans.Load(key); ok {
		return p.(*numberPlan)
	}
	m, ok := load()
	if !ok || m == nil {
		return nil
	}
	p, _ := plans.LoadOrStore(key, compilePlan(m))
	return p.(*numberPlan)
}

// numberType returns the type of a parsed number (UNKNOWN when it is not valid)
// and its national significant number.
func numberType(n *phonenumbers.PhoneNumber) (phonenumbers.PhoneNumberType, string) {
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	cc := int(n.GetCountryCode())
	regions := metadata.CountryCodeToRegion()[cc]
	switch {
	case len(regions) == 0:
		return phonenumbers.UNKNOWN, nsn
	case len(regions) == 1 && regions[0] == "001":
		p := planFor("001:"+strconv.Itoa(cc), func() (*metadata.PhoneMetadata, bool) { return metadata.NonGeoMetadata(cc) })
		if p == nil {
			return phonenumbers.UNKNOWN, nsn
		}
		return p.numberType(nsn), nsn
	case len(regions) == 1:
		p := regionPlan(regions[0])
		if p == nil {
			return phonenumbers.UNKNOWN, nsn
		}
		return p.numberType(nsn), nsn
	}
	// Several regions share the calling code (+1, +7, +44 …): the region is the
	// first whose leading digits match, or, without leading digits, whose
	// patterns the number is valid for.
	for _, r := range regions {
		p := regionPlan(r)
		if p == nil {
			continue
		}
		if p.leading != nil {
			if p.leading.MatchString(nsn) {
				return p.numberType(nsn), nsn
			}
		} else if t := p.numberType(nsn); t != phonenumbers.UNKNOWN {
			return t, nsn
		}
	}
	return phonenumbers.UNKNOWN, nsn
}

func regionPlan(region string) *numberPlan {
	return planFor(region, func() (*metadata.PhoneMetadata, bool) { return metadata.RegionMetadata(region) })
}
