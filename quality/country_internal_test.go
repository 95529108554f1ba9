package quality

import (
	"strings"
	"testing"
)

// The fast path (lower-cased letters looked up as written) reads every country
// name, variant and code as the full key does, in any case.
func TestCountryFastPathMatchesKey(t *testing.T) {
	n := 0
	for key, code := range countries() {
		for _, in := range []string{key, strings.ToUpper(key), strings.Title(key)} { //nolint:staticcheck // ASCII and Latin names
			want := countries()[countryKey(in)]
			if want == "" {
				want = code // an accented key as written: its stripped form is the same country
			}
			if got, _ := Country(in); got != want {
				t.Errorf("Country(%q) = %q, want %q", in, got, want)
			}
			n++
		}
	}
	for _, in := range []string{"España", "ESPAÑA", "österreich", "México", "Türkiye", "Réunion", "Curaçao", "Åland Islands"} {
		if got, _ := Country(in); got == "" || got != countries()[countryKey(in)] {
			t.Errorf("Country(%q) = %q, want %q", in, got, countries()[countryKey(in)])
		}
	}
	t.Logf("%d spellings", n)
}
