package dedup

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// referenceDistance is the textbook edit distance over runes, a full table:
// what Levenshtein and withinEdits are checked against.
func referenceDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
		}
	}
	return d[len(ra)][len(rb)]
}

// TestWithinEditsAgreesWithLevenshtein compares the distance and the bounded
// check with the textbook table on strings that share most of their letters
// (so distances near the bound are common), with non-ASCII runes and with
// lengths on both sides of the 64 runes kept on the stack.
func TestWithinEditsAgreesWithLevenshtein(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	letters := []rune("abcé名@.")
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(letters[rng.IntN(len(letters))])
		}
		return b.String()
	}
	edit := func(s string) string {
		r := []rune(s)
		switch i := rng.IntN(len(r) + 1); rng.IntN(3) {
		case 0:
			r = append(r[:i], append([]rune{letters[rng.IntN(len(letters))]}, r[i:]...)...)
		case 1:
			if i < len(r) {
				r = append(r[:i], r[i+1:]...)
			}
		default:
			if i < len(r) {
				r[i] = letters[rng.IntN(len(letters))]
			}
		}
		return string(r)
	}
	near := 0
	for n := range 20000 {
		a := word(rng.IntN(70))
		b := a
		for range rng.IntN(5) {
			b = edit(b)
		}
		if n%4 == 0 {
			b = word(rng.IntN(70))
		}
		d := referenceDistance(a, b)
		if got := Levenshtein(a, b); got != d {
			t.Fatalf("Levenshtein(%q, %q) = %d, want %d", a, b, got, d)
		}
		if d >= 1 && d <= 3 {
			near++
		}
		for k := range 4 {
			if got := withinEdits(a, b, k); got != (d <= k) {
				t.Fatalf("withinEdits(%q, %q, %d) = %v, the distance is %d", a, b, k, got, d)
			}
		}
	}
	if near < 5000 {
		t.Fatalf("only %d pairs at distance 1 to 3: the test does not reach the bound", near)
	}
}

func BenchmarkWithinEdits(b *testing.B) {
	pairs := [][2]string{{"ann.oneil@example.com", "ann.oneill@example.com"}, {"jsmith1990@mail.com", "mary.jones@example.org"}}
	b.Run("levenshtein", func(b *testing.B) {
		for b.Loop() {
			for _, p := range pairs {
				_ = Levenshtein(p[0], p[1]) <= 2
			}
		}
	})
	b.Run("within", func(b *testing.B) {
		for b.Loop() {
			for _, p := range pairs {
				_ = withinEdits(p[0], p[1], 2)
			}
		}
	})
}

// TestASCIIFoldsAgreeWithTheRuneFolds checks the one-pass folds of ASCII
// names and addresses against the general ones, on strings of letters of
// both cases, digits, spaces, punctuation and control characters.
func TestASCIIFoldsAgreeWithTheRuneFolds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const chars = "aZbY09 ,.-#/'\t\x01"
	for range 20000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		s := string(b)
		if got, want := foldNameASCII(s), foldNameRunes(s); got != want {
			t.Fatalf("foldNameASCII(%q) = %q, want %q", s, got, want)
		}
		gotA, gotN := foldAddressASCII(s)
		wantA, wantN := foldAddressRunes(strings.ToLower(s))
		if gotA != wantA || gotN != wantN {
			t.Fatalf("foldAddressASCII(%q) = %q, %q; want %q, %q", s, gotA, gotN, wantA, wantN)
		}
	}
	for s, want := range map[string][2]string{"12B Baker St.": {"12b baker st", "12b"}, "Flat 3, 221B Baker Street": {"flat 3 221b baker street", "3"}, "Straße 5": {"strasse 5", "5"}} {
		if a, n := foldAddress(s); a != want[0] || n != want[1] {
			t.Errorf("foldAddress(%q) = %q, %q; want %q, %q", s, a, n, want[0], want[1])
		}
	}
}
