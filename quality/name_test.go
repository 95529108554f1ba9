package quality

import "testing"

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
