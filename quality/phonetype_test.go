package quality

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers/v2"
)

// TestNumberPlanAgreesWithLibrary holds Kith's compiled number plans to
// phonenumbers' own GetNumberType and E.164 Format: for every region's example
// number of every type, and for variants one digit shorter, longer or changed.
func TestNumberPlanAgreesWithLibrary(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{
		phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE,
		phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER,
		phonenumbers.UAN, phonenumbers.VOICEMAIL,
	}
	var examples []*phonenumbers.PhoneNumber
	regions := make([]string, 0, 256)
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, r := range regions {
		for _, typ := range types {
			if n := phonenumbers.GetExampleNumberForTypeInRegion(r, typ); n != nil {
				examples = append(examples, n)
			}
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		if n := phonenumbers.GetExampleNumberForNonGeoEntity(cc); n != nil {
			examples = append(examples, n)
		}
	}
	if len(examples) < 1000 {
		t.Fatalf("only %d example numbers", len(examples))
	}
	checked, valid := 0, 0
	for _, ex := range examples {
		nsn := phonenumbers.GetNationalSignificantNumber(ex)
		variants := []string{nsn, nsn[:len(nsn)-1], nsn + "7", nsn[:len(nsn)-1] + strconv.Itoa((int(nsn[len(nsn)-1]-'0')+5)%10), "9" + nsn[1:]}
		for _, v := range variants {
			n, err := phonenumbers.Parse("+"+strconv.Itoa(int(ex.GetCountryCode()))+v, "")
			if err != nil {
				continue
			}
			want := phonenumbers.GetNumberType(n)
			got, gotNSN := numberType(n)
			if got != want {
				t.Errorf("+%d %s: type %v, library says %v", ex.GetCountryCode(), v, got, want)
			}
			if e164 := "+" + strconv.Itoa(int(n.GetCountryCode())) + gotNSN; e164 != phonenumbers.Format(n, phonenumbers.E164) {
				t.Errorf("E.164 %s, library says %s", e164, phonenumbers.Format(n, phonenumbers.E164))
			}
			checked++
			if want != phonenumbers.UNKNOWN {
				valid++
			}
		}
	}
	t.Logf("%d numbers checked, %d of them valid", checked, valid)
}

// TestDigitDFAAgreesWithRegexp compares every number pattern's automaton with the
// regexp package on random digit strings and the example numbers.
func TestDigitDFAAgreesWithRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	patterns, compiled := 0, 0
	for region := range phonenumbers.GetSupportedRegions() {
		p := regionPlan(region)
		descs := []*numberDesc{p.general, p.fixed, p.mobile}
		for _, s := range p.special {
			descs = append(descs, s.desc)
		}
		for _, d := range descs {
			if d.re == nil {
				continue
			}
			patterns++
			if d.dfa == nil {
				continue
			}
			compiled++
			for i := range 300 {
				n := 4 + i%10
				b := make([]byte, n)
				for j := range b {
					b[j] = byte('0' + r.IntN(10))
				}
				if got, want := d.dfa.match(string(b)), d.re.MatchString(string(b)); got != want {
					t.Fatalf("%s %s: automaton %v, regexp %v on %s", region, d.re, got, want, b)
				}
			}
		}
	}
	if compiled < patterns*9/10 {
		t.Errorf("only %d of %d patterns compile to an automaton", compiled, patterns)
	}
	t.Logf("%d of %d patterns run as automata", compiled, patterns)
}
