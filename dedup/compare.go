// Package dedup resolves which contact records are the same person: blocking,
// comparators, Fellegi–Sunter scoring with EM-estimated weights, clustering
// guarded against chaining, golden records by survivorship rules, stable ids and
// incremental matching of new records into resolved clusters. It is pure: no I/O.
package dedup

import (
	"math"
	"unicode/utf8"
)

// Levenshtein is the edit distance of a and b (insertions, deletions,
// substitutions), over runes.
func Levenshtein(a, b string) int { return editDistance(a, b, math.MaxInt) }

// withinEdits reports whether Levenshtein(a, b) <= k. Most email pairs of a
// block differ from their first letters, and Levenshtein was a tenth of a
// worker's scoring time.
func withinEdits(a, b string, k int) bool { return editDistance(a, b, k) <= k }

// editDistance is Levenshtein(a, b) when that is at most bound, and else a
// number above bound: it stops at the first row of the table whose every
// entry exceeds bound (a row's least entry never falls further down). It does
// not allocate for strings of up to 64 runes.
func editDistance(a, b string, bound int) int {
	if a == b {
		return 0
	}
	var bufA, bufB [64]rune
	ra, rb := appendRunes(bufA[:0], a), appendRunes(bufB[:0], b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	if d := len(ra) - len(rb); d > bound {
		return d
	}
	var buf [65]int
	row := buf[:0]
	for j := 0; j <= len(rb); j++ {
		row = append(row, j)
	}
	for i := 1; i <= len(ra); i++ {
		prev := row[0]
		row[0] = i
		least := i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur := min(row[j]+1, row[j-1]+1, prev+cost)
			prev, row[j] = row[j], cur
			least = min(least, cur)
		}
		if least > bound {
			return least
		}
	}
	return row[len(rb)]
}

// appendRunes appends the runes of s to buf.
func appendRunes(buf []rune, s string) []rune {
	for _, r := range s {
		buf = append(buf, r)
	}
	return buf
}

// DamerauLevenshtein is the edit distance with adjacent transpositions, in its
// unrestricted form (a substring may be edited after a transposition:
// DamerauLevenshtein("CA", "ABC") is 2, where optimal string alignment gives 3).
func DamerauLevenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	n, m := len(ra), len(rb)
	maxDist := n + m
	last := map[rune]int{}
	d := make([][]int, n+2)
	for i := range d {
		d[i] = make([]int, m+2)
	}
	d[0][0] = maxDist
	for i := 0; i <= n; i++ {
		d[i+1][0], d[i+1][1] = maxDist, i
	}
	for j := 0; j <= m; j++ {
		d[0][j+1], d[1][j+1] = maxDist, j
	}
	for i := 1; i <= n; i++ {
		db := 0
		for j := 1; j <= m; j++ {
			i1, j1 := last[rb[j-1]], db
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost, db = 0, j
			}
			d[i+1][j+1] = min(d[i][j]+cost, d[i+1][j]+1, d[i][j+1]+1, d[i1][j1]+(i-i1-1)+1+(j-j1-1))
		}
		last[ra[i-1]] = i
	}
	return d[n+1][m+1]
}

// JaroWinkler is the Jaro similarity of a and b raised for a common prefix of up
// to four runes (scaling 0.1), in [0, 1].
func JaroWinkler(a, b string) float64 {
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	var bufA, bufB [64]rune
	ra, rb := runesInto(bufA[:0], a), runesInto(bufB[:0], b)
	j := jaro(ra, rb)
	prefix := 0
	for prefix < min(4, len(ra), len(rb)) && ra[prefix] == rb[prefix] {
		prefix++
	}
	return j + float64(prefix)*0.1*(1-j)
}

func jaro(a, b []rune) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	window := max(len(a), len(b))/2 - 1
	window = max(window, 0)
	var matchedA, matchedB [64]bool
	if len(a) > 64 || len(b) > 64 {
		return 0 // names and emails are shorter; longer text is not compared this way
	}
	matches := 0
	for i := range a {
		lo, hi := max(0, i-window), min(len(b), i+window+1)
		for k := lo; k < hi; k++ {
			if !matchedB[k] && a[i] == b[k] {
				matchedA[i], matchedB[k] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	transpositions, k := 0, 0
	for i := range a {
		if !matchedA[i] {
			continue
		}
		for !matchedB[k] {
			k++
		}
		if a[i] != b[k] {
			transpositions++
		}
		k++
	}
	m := float64(matches)
	return (m/float64(len(a)) + m/float64(len(b)) + (m-float64(transpositions)/2)/m) / 3
}

func runesInto(buf []rune, s string) []rune {
	for _, r := range s {
		buf = append(buf, r)
	}
	return buf
}

// NGrams returns the character n-grams of s padded with one space each side
// ("ada", 2 → " a", "ad", "da", "a ").
func NGrams(s string, n int) []string {
	padded := " " + s + " "
	if utf8.RuneCountInString(padded) < n {
		return nil
	}
	r := []rune(padded)
	out := make([]string, 0, len(r)-n+1)
	for i := 0; i+n <= len(r); i++ {
		out = append(out, string(r[i:i+n]))
	}
	return out
}

// TFIDF weights character n-grams by how rare they are in a corpus, for cosine
// similarity of short strings (names, street lines): rare shared n-grams count
// more than common ones.
type TFIDF struct {
	n    int
	docs int
	df   map[string]int
}

// NewTFIDF learns document frequencies of n-grams from corpus.
func NewTFIDF(corpus []string, n int) *TFIDF {
	t := &TFIDF{n: n, df: map[string]int{}}
	for _, s := range corpus {
		seen := map[string]bool{}
		for _, g := range NGrams(s, n) {
			if !seen[g] {
				seen[g] = true
				t.df[g]++
			}
		}
		t.docs++
	}
	return t
}

func (t *TFIDF) vector(s string) map[string]float64 {
	v := map[string]float64{}
	for _, g := range NGrams(s, t.n) {
		v[g]++
	}
	for g, tf := range v {
		v[g] = tf * math.Log(float64(t.docs+1)/float64(t.df[g]+1))
	}
	return v
}

// Cosine is the cosine similarity of the TF-IDF n-gram vectors of a and b, in [0, 1].
func (t *TFIDF) Cosine(a, b string) float64 {
	va, vb := t.vector(a), t.vector(b)
	var dot, na, nb float64
	for g, x := range va {
		dot += x * vb[g]
		na += x * x
	}
	for _, y := range vb {
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// DateDistance is the number of days between two dates given as days since the
// Unix epoch.
func DateDistance(a, b int32) int32 {
	if a > b {
		return a - b
	}
	return b - a
}
