package dedup_test

import (
	"math"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

func TestEditDistances(t *testing.T) {
	for _, tc := range []struct {
		a, b    string
		lev, dl int
	}{
		{"kitten", "sitting", 3, 3},
		{"flaw", "lawn", 2, 2},
		{"CA", "ABC", 3, 2}, // the unrestricted transposition case
		{"ca", "ac", 2, 1},
		{"", "abc", 3, 3},
		{"same", "same", 0, 0},
		{"Müller", "Mueller", 2, 2},
		{"jonathan", "jonahtan", 2, 1},
	} {
		if got := dedup.Levenshtein(tc.a, tc.b); got != tc.lev {
			t.Errorf("Levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.lev)
		}
		if got := dedup.DamerauLevenshtein(tc.a, tc.b); got != tc.dl {
			t.Errorf("DamerauLevenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.dl)
		}
	}
}

func TestJaroWinklerKnownValues(t *testing.T) {
	// Winkler's published examples (rounded to three places).
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"MARTHA", "MARHTA", 0.961},
		{"DWAYNE", "DUANE", 0.840},
		{"DIXON", "DICKSONX", 0.813},
		{"JELLYFISH", "SMELLYFISH", 0.896},
		{"abc", "abc", 1},
		{"abc", "xyz", 0},
		{"", "", 0},
	} {
		if got := dedup.JaroWinkler(tc.a, tc.b); math.Abs(got-tc.want) > 0.0005 {
			t.Errorf("JaroWinkler(%q, %q) = %.4f, want %.3f", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestCosineTFIDF(t *testing.T) {
	corpus := []string{"john smith", "jon smith", "john smyth", "mary jones", "maria jones", "smith"}
	tf := dedup.NewTFIDF(corpus, 2)
	if got := tf.Cosine("john smith", "john smith"); math.Abs(got-1) > 1e-9 {
		t.Errorf("identical strings: %f", got)
	}
	if got := tf.Cosine("john smith", "xyz"); got != 0 {
		t.Errorf("nothing shared: %f", got)
	}
	close, far := tf.Cosine("john smith", "jon smith"), tf.Cosine("john smith", "mary jones")
	if !(close > 0.6 && far < 0.05) {
		t.Errorf("cosine close %f, far %f", close, far)
	}
	if got := dedup.NGrams("ada", 2); len(got) != 4 || got[0] != " a" || got[3] != "a " {
		t.Errorf("NGrams = %q", got)
	}
}

func TestDateDistance(t *testing.T) {
	if dedup.DateDistance(100, 90) != 10 || dedup.DateDistance(90, 100) != 10 || dedup.DateDistance(5, 5) != 0 {
		t.Error("DateDistance")
	}
}

// TestRecordOfValuesReadsMatchFieldsInOrder: a store's row of values (in
// MatchFields order) is the record RecordOf reads from the same fields; a
// short row leaves the rest empty.
func TestRecordOfValuesReadsMatchFieldsInOrder(t *testing.T) {
	fields := map[kith.Field]string{}
	vals := make([]string, len(dedup.MatchFields))
	for i, f := range dedup.MatchFields {
		fields[f] = "value of " + string(f)
		vals[i] = fields[f]
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := dedup.RecordOf("c1", "crm", at, at.Add(time.Hour), func(f kith.Field) string { return fields[f] })
	if got := dedup.RecordOfValues("c1", "crm", at, at.Add(time.Hour), vals); got != want {
		t.Fatalf("RecordOfValues = %+v, want %+v", got, want)
	}
	if want.Email == "" || want.Address == "" {
		t.Fatalf("RecordOf read no email or address: %+v", want)
	}
	short := dedup.RecordOfValues("c1", "", at, at, vals[:1])
	if short.Email != vals[0] || short.Phone != "" || short.Address != "" {
		t.Fatalf("short row: %+v", short)
	}
}
