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

// TestUUIDsAreWhatPostgreSQLReads: the ids' array text is read back as the
// same ids, in order, upper case and the unhyphenated form included; an
// element that is not an id is an error from PostgreSQL, never split into
// other elements or read as NULL.
func TestUUIDsAreWhatPostgreSQLReads(t *testing.T) {
	s := newStore(t)
	read := func(ids []string) ([]string, error) {
		var got []string
		err := s.DB().Select(&got, `SELECT x::text FROM unnest($1::uuid[]) WITH ORDINALITY AS u(x, n) ORDER BY n`, postgres.UUIDs(ids))
		return got, err
	}
	ids := []string{"0190a0c4-7c1e-7d2a-9b3c-4d5e6f708192", "ffffffff-ffff-ffff-ffff-ffffffffffff", "00000000-0000-0000-0000-000000000000"}
	for _, want := range [][]string{ids, ids[:1], {}} {
		got, err := read(want)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q read back as %q", want, got)
		}
	}
	got, err := read([]string{"0190A0C4-7C1E-7D2A-9B3C-4D5E6F708192", "0190a0c47c1e7d2a9b3c4d5e6f708192"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ids[0], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("other forms read back as %q, want %q", got, want)
	}
	if got, err := read(nil); err != nil || len(got) != 0 {
		t.Errorf("nil read back as %q, %v: want no rows", got, err)
	}
	for _, bad := range [][]string{
		{ids[0] + "," + ids[1]}, {"NULL"}, {""}, {ids[0] + "}"}, {`"` + ids[0] + `"`},
	} {
		if got, err := read(bad); err == nil {
			t.Errorf("%q read as %q, want an error", bad, got)
		}
	}
}
