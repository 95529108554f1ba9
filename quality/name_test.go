package quality

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The ASCII fast path capitalizes exactly like the general one.
func TestCapitalizeASCIIMatchesGeneral(t *testing.T) {
	for _, name := range []string{
		"ada lovelace", "o'neill", "mcdonald", "smith-jones", "ludwig van der berg", "maria de la cruz",
		"van gogh", "de-la cruz", "jean-luc van-damme", "mc", "o'", "d'angelo mc-mc", "le", "a le b",
		"x", "anne-marie de", "ibn", "al-ibn ibn",
	} {
		if got := capitalizeASCII([]byte(name)); got != capitalizeWords(name) {
			t.Errorf("capitalizeASCII(%q) = %q, general path gives %q", name, got, capitalizeWords(name))
		}
	}
}

// The one-pass ASCII path answers exactly like the general one, wherever it answers.
func TestNameASCIIMatchesGeneral(t *testing.T) {
	inputs := []string{
		"ada lovelace", "ADA LOVELACE", "Ada Lovelace", "o'neill", "MCDONALD", "smith-jones",
		"ludwig van der berg", "DeVito", "ada  lovelace", " ada", "ada ", "ada\tlovelace", "r2d2",
		"ada@home", "x", "a\x7fb", "jean-luc van-damme", "ANNE-MARIE DE", "le", "",
	}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcXYZ -'.@1\t\x01"
	for range 20000 {
		b := make([]byte, 1+r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	fast := 0
	for _, in := range inputs {
		got, gvs, ok := nameASCII(in, "first_name")
		if !ok {
			continue
		}
		fast++
		want, wvs := nameGeneral(in, "first_name")
		if got != want || len(gvs) != len(wvs) || (len(gvs) > 0 && gvs[0].Code != wvs[0].Code) {
			t.Fatalf("nameASCII(%q) = %q %v, general %q %v", in, got, gvs, want, wvs)
		}
	}
	if fast < len(inputs)/4 {
		t.Fatalf("the ASCII path answered only %d of %d names", fast, len(inputs))
	}
}

// collapseSpaces' no-copy path is taken only when there is nothing to collapse.
func TestCollapseSpacesMatchesFields(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "é", " ", "  ", "\t", "\u00a0", "\u2003", "\u0085", "-", "ß", "\n"}
	for range 20000 {
		var s string
		for range 1 + r.IntN(8) {
			s += alphabet[r.IntN(len(alphabet))]
		}
		if got, want := collapseSpaces(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Fatalf("collapseSpaces(%q) = %q, want %q", s, got, want)
		}
	}
}
