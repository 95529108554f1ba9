package quality

import "testing"

// The filters in domainSuggestion (length buckets, byte sets, histograms) never
// change its answer: checked against the plain search over every common domain on
// all one-edit variants of every common domain and two-edit variants of some.
func TestDomainSuggestionMatchesPlainSearch(t *testing.T) {
	plain := func(d string) string {
		best, bestDist := "", 3
		for _, c := range commonDomains {
			if c == d {
				return ""
			}
			if dist := osaDistance(d, c, bestDist); dist < bestDist {
				best, bestDist = c, dist
			}
		}
		if len(d) < 6 {
			return ""
		}
		return best
	}
	edits := func(s string) []string {
		var out []string
		for i := 0; i <= len(s); i++ {
			for _, c := range []byte("aeiolmnorst.-c") {
				out = append(out, s[:i]+string(c)+s[i:]) // insertion
				if i < len(s) {
					out = append(out, s[:i]+string(c)+s[i+1:]) // substitution
				}
			}
			if i < len(s) {
				out = append(out, s[:i]+s[i+1:]) // deletion
			}
			if i+1 < len(s) {
				out = append(out, s[:i]+s[i+1:i+2]+s[i:i+1]+s[i+2:]) // transposition
			}
		}
		return out
	}
	n, suggested := 0, 0
	for k, d := range commonDomains {
		variants := edits(d)
		if k%5 == 0 {
			for _, v := range variants[:40] {
				variants = append(variants, edits(v)...)
			}
		}
		for _, v := range append(variants, d, "example.com", "company.co.uk") {
			n++
			got, want := domainSuggestion(v), plain(v)
			if got != want {
				t.Fatalf("domainSuggestion(%q) = %q, plain search %q", v, got, want)
			}
			if got != "" {
				suggested++
			}
		}
	}
	if suggested < n/2 {
		t.Fatalf("only %d of %d variants got a suggestion", suggested, n)
	}
	t.Logf("%d variants, %d suggestions", n, suggested)
}
