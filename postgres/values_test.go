package postgres_test

import (
	"slices"
	"testing"

	"github.com/lib/pq"

	"github.com/kithhq/kith/postgres"
)

// TestTextArrayReadsWhatPostgreSQLWrites parses PostgreSQL's own text form of
// values that it quotes and escapes (spaces, commas, quotes, backslashes,
// braces, the word NULL, empty strings, non-ASCII), and rejects what is not a
// one-dimensional array without NULLs.
func TestTextArrayReadsWhatPostgreSQLWrites(t *testing.T) {
	s := newStore(t)
	cases := [][]string{
		{"ann@example.com", "+14155550100", "Ann", "O'Neil", "1990-02-03", "", "US", "San Francisco", "94103", "1 Main St, Apt 2"},
		{`say "hi"`, `back\slash`, `\"both\"`, "{braces}", "a,b", " lead", "trail ", "NULL", "null", "", "ünïcødé 名前", "tab\there", "new\nline"},
		{""},
		{},
		{`\`, `"`, `,`, `{`, `}`, ` `},
	}
	for _, want := range cases {
		var raw []byte
		if err := s.DB().QueryRow(`SELECT $1::text[]`, pq.Array(want)).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		got, err := postgres.TextArray(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s parsed as %q, want %q", raw, got, want)
		}
	}
	for _, bad := range []string{`{a,NULL}`, `{{a},{b}}`, `[0:1]={a,b}`, `{"a}`, `{a,}`, `a,b`, ``} {
		if got, err := postgres.TextArray([]byte(bad)); err == nil {
			t.Errorf("%s parsed as %q, want an error", bad, got)
		}
	}
}
