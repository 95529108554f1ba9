package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/postgres"
)

// storedKeys are the blocking keys the store holds for a contact, sorted.
func storedKeys(t *testing.T, s *postgres.Store, id string) []int64 {
	t.Helper()
	var ks []int64
	if err := s.DB().Select(&ks, `SELECT key FROM contact_keys WHERE contact_id = $1 ORDER BY key`, id); err != nil {
		t.Fatal(err)
	}
	return ks
}

// keysOf is what dedup computes for a set of matching values.
func keysOf(sets ...map[kith.Field]string) []int64 {
	var out []int64
	for _, v := range sets {
		r := dedup.RecordOf("", "", time.Time{}, time.Time{}, func(f kith.Field) string { return v[f] })
		out = append(out, dedup.BlockingKeys(&r)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkValues fails unless match_values holds, for every active contact, its
// profile's match values and those of every source record it holds through
// its merge tree, as read here from contacts and source_records.
func checkValues(t *testing.T, s *postgres.Store, step string) {
	t.Helper()
	var fields []string
	for _, f := range dedup.MatchFields {
		fields = append(fields, string(f))
	}
	var want, got []string
	if err := s.DB().Select(&want, `WITH RECURSIVE tree(id, root) AS (
			SELECT id, id FROM contacts WHERE status = 'active'
			UNION ALL
			SELECT c.id, t.root FROM contacts c JOIN tree t ON c.merged_into = t.id AND c.status = 'merged')
		SELECT concat_ws('|', c.id, '', c.id, c.created_at, coalesce(CASE WHEN c.field_provenance ? 'email'
				THEN coalesce(c.field_provenance->'email'->>'source', c.field_provenance->'_'->>'source') END, ''), c.updated_at,
			(SELECT string_agg(coalesce(to_jsonb(c)->>f, ''), ',' ORDER BY i) FROM unnest($1::text[]) WITH ORDINALITY AS u(f, i)))
		FROM contacts c WHERE c.status = 'active'
		UNION ALL
		SELECT concat_ws('|', t.root, r.source, r.ref, '', '', r.observed_at,
			(SELECT string_agg(coalesce(r.fields->>f, ''), ',' ORDER BY i) FROM unnest($1::text[]) WITH ORDINALITY AS u(f, i)))
		FROM tree t JOIN source_records r ON r.contact_id = t.id
		ORDER BY 1`, pq.Array(fields)); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Select(&got, `SELECT concat_ws('|', holder_id, source, ref, coalesce(created_at::text, ''), email_source, at, array_to_string(vals, ',', ''))
		FROM match_values ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: match values\n%s\nwant\n%s", step, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestBlockingKeysFollowEveryWrite: a contact's keys are its profile's and its
// source records' as dedup computes them, after an import, a merge (the merged
// contact has none; the survivor holds its records' keys), an unmerge (both as
// before), an archive and a restore; a migration's backfill rebuilds them all.
func TestBlockingKeysFollowEveryWrite(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ada := map[kith.Field]string{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "phone": "+4741234567", "birth_date": "1815-12-10"}
	old := map[kith.Field]string{"email": "ada.old@example.org", "first_name": "Ada", "last_name": "Byron", "phone": "+4799999999"}
	in := func(src kith.Source, ref string, v map[kith.Field]string) kith.ContactInput {
		c := kith.ContactInput{Fields: map[kith.Field]kith.Value{}}
		for f, x := range v {
			c.Fields[f] = kith.Value{Value: x, Provenance: kith.Provenance{Source: src, Ref: ref, At: at}}
		}
		return c
	}
	if _, err := s.UpsertContacts(ctx, []kith.ContactInput{in(kith.SourceImport, "f:row:1", ada), in(kith.SourceImport, "f:row:2", old)}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.ContactIDByEmail(ctx, "ada@example.com")
	b, _ := s.ContactIDByEmail(ctx, "ada.old@example.org")
	if got, want := storedKeys(t, s, a), keysOf(ada); !slices.Equal(got, want) || len(want) < 5 {
		t.Fatalf("keys after import %v, want %v", got, want)
	}
	checkValues(t, s, "after import")
	// The candidates of a new record with Ada's phone: found by one index lookup.
	var found []string
	if err := s.DB().Select(&found, `SELECT DISTINCT contact_id::text FROM contact_keys WHERE key = ANY($1)`,
		pq.Array(keysOf(map[kith.Field]string{"phone": "+47 41 23 45 67"}))); err != nil || !slices.Equal(found, []string{a}) {
		t.Errorf("candidates by phone: %v %v, want Ada", found, err)
	}

	beforeA, beforeB := storedKeys(t, s, a), storedKeys(t, s, b)
	golden := map[kith.Field]kith.Value{}
	for f, x := range ada {
		golden[f] = kith.Value{Value: x, Provenance: kith.Provenance{Source: kith.SourceImport, At: at}}
	}
	ids, err := s.MergeContacts(ctx, kith.Merge{SurvivorID: a, MergedIDs: []string{b}, Golden: golden, Score: 0.99, Reason: "test", Actor: "dedup"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("merge: %v %v", ids, err)
	}
	if got := storedKeys(t, s, b); len(got) != 0 {
		t.Errorf("the merged contact keeps keys %v", got)
	}
	if got, want := storedKeys(t, s, a), keysOf(ada, old); !slices.Equal(got, want) {
		t.Errorf("survivor's keys %v, want its and the merged record's %v", got, want)
	}
	checkValues(t, s, "after merge")
	// The merged contact's record again, newer: its row, held by the survivor, follows.
	newer := maps.Clone(old)
	newer["city"] = "Oslo"
	again := in(kith.SourceImport, "f:row:2", newer)
	for f, v := range again.Fields {
		v.Provenance.At = at.Add(time.Hour)
		again.Fields[f] = v
	}
	if _, err := s.UpsertContacts(ctx, []kith.ContactInput{again}); err != nil {
		t.Fatal(err)
	}
	checkValues(t, s, "after the merged contact's record arrived again")
	beforeB = keysOf(old, newer) // its record's new city is a key too
	// Migration 0025 fills the table for the contacts stored before it to the same rows.
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m postgres.Migration) bool { return m.Version == 25 })
	fill := ms[i].SQL[strings.Index(ms[i].SQL, "INSERT INTO match_values"):]
	if _, err := s.DB().Exec(`DELETE FROM match_values; ` + fill); err != nil {
		t.Fatal(err)
	}
	checkValues(t, s, "after migration 0025's fill")
	if _, err := s.Unmerge(ctx, ids[0], "reviewer"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(storedKeys(t, s, a), beforeA) || !slices.Equal(storedKeys(t, s, b), beforeB) {
		t.Errorf("after unmerge: %v and %v, want %v and %v", storedKeys(t, s, a), storedKeys(t, s, b), beforeA, beforeB)
	}
	checkValues(t, s, "after unmerge")

	// Archived contacts are no candidates; restored ones are again.
	if _, err := s.DB().Exec(`INSERT INTO events (event_id, contact_id, type, source, occurred_at) VALUES ('e1', $1, 'hard_bounce', 'esp', now())`, b); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ArchiveContacts(ctx, time.Time{}.Add(time.Hour)); err != nil || n.HardBounce != 1 {
		t.Fatalf("archive: %+v %v", n, err)
	}
	if got := storedKeys(t, s, b); len(got) != 0 {
		t.Errorf("an archived contact keeps keys %v", got)
	}
	checkValues(t, s, "after archive")
	if err := s.RestoreContact(ctx, b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(storedKeys(t, s, b), beforeB) {
		t.Errorf("restored keys %v, want %v", storedKeys(t, s, b), beforeB)
	}
	checkValues(t, s, "after restore")

	// A migration's backfill rebuilds keys lost or never written.
	if _, err := s.DB().Exec(`DELETE FROM contact_keys; DELETE FROM match_values; UPDATE backfills SET cursor = '', done_at = NULL WHERE name = 'contact_keys'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(storedKeys(t, s, a), beforeA) || !slices.Equal(storedKeys(t, s, b), beforeB) {
		t.Errorf("after the backfill: %v and %v, want %v and %v", storedKeys(t, s, a), storedKeys(t, s, b), beforeA, beforeB)
	}
	checkValues(t, s, "after the backfill")
}

// TestStevesKeysAreRecomputed: migration 0028's backfill recomputes the keys
// of the contacts named Steve ("steve" stood for stephen or steven depending
// on the process), and only theirs.
func TestStevesKeysAreRecomputed(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	steve := map[kith.Field]string{"email": "steve@example.com", "first_name": "Steve", "last_name": "Berg", "birth_date": "1980-02-03"}
	ada := map[kith.Field]string{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "birth_date": "1815-12-10"}
	var in []kith.ContactInput
	for i, v := range []map[kith.Field]string{steve, ada} {
		c := kith.ContactInput{Fields: map[kith.Field]kith.Value{}}
		for f, x := range v {
			c.Fields[f] = kith.Value{Value: x, Provenance: kith.Provenance{Source: kith.SourceImport, Ref: fmt.Sprintf("f:row:%d", i+1), At: at}}
		}
		in = append(in, c)
	}
	if _, err := s.UpsertContacts(ctx, in); err != nil {
		t.Fatal(err)
	}
	a, _ := s.ContactIDByEmail(ctx, "steve@example.com")
	b, _ := s.ContactIDByEmail(ctx, "ada@example.com")
	want := storedKeys(t, s, a)
	if !slices.Equal(want, keysOf(steve)) {
		t.Fatalf("Steve's keys %v, want %v", want, keysOf(steve))
	}
	// Keys written by a process where "steve" stood for steven: one stale key
	// in place of one right one. Ada's lose one too, which the backfill is not
	// for.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM contact_keys WHERE contact_id = $1 AND key = $2`, []any{a, want[0]}},
		{`INSERT INTO contact_keys VALUES (42, $1)`, []any{a}},
		{`DELETE FROM contact_keys WHERE contact_id = $1 AND key = $2`, []any{b, storedKeys(t, s, b)[0]}},
		{`UPDATE backfills SET cursor = '', done_at = NULL WHERE name = 'contact_keys_steve'`, nil},
	} {
		if _, err := s.DB().Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	adaBefore := storedKeys(t, s, b)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedKeys(t, s, a); !slices.Equal(got, want) {
		t.Errorf("Steve's keys after the backfill %v, want %v", got, want)
	}
	if got := storedKeys(t, s, b); !slices.Equal(got, adaBefore) {
		t.Errorf("the backfill rewrote Ada's keys: %v, had %v", got, adaBefore)
	}
	var done bool
	if err := s.DB().Get(&done, `SELECT done_at IS NOT NULL FROM backfills WHERE name = 'contact_keys_steve'`); err != nil || !done {
		t.Errorf("backfill done: %v, %v", done, err)
	}
}

// TestErasureDeletesTheDerivedRows: the blocking keys and match values of an
// erased person's merge tree go with it (they have no foreign keys to cascade
// from, migration 0029), and another contact's stay.
func TestErasureDeletesTheDerivedRows(t *testing.T) {
	s, grace := storeWithGrace(t)
	ctx := context.Background()
	at := time.Now().UTC()
	ids := stored(t, s,
		input(at, kith.SourceImport, "email", "grace.h@example.org", "first_name", "Grace", "last_name", "Hopper"),
		input(at, kith.SourceImport, "email", "ada@example.com", "first_name", "Ada"))
	merged, other := ids[0], ids[1]
	if _, err := s.MergeContacts(ctx, kith.Merge{SurvivorID: grace, MergedIDs: []string{merged}, Score: 0.99, Reason: "test", Actor: "dedup"}); err != nil {
		t.Fatal(err)
	}
	rows := func(id string) (keys, values int) {
		t.Helper()
		if err := s.DB().QueryRow(`SELECT (SELECT count(*) FROM contact_keys WHERE contact_id = $1),
			(SELECT count(*) FROM match_values WHERE holder_id = $1)`, id).Scan(&keys, &values); err != nil {
			t.Fatal(err)
		}
		return keys, values
	}
	if k, v := rows(grace); k == 0 || v == 0 {
		t.Fatalf("before the erasure the survivor holds %d keys and %d rows of values", k, v)
	}
	if _, err := s.BeginErasure(ctx, grace, "test"); err != nil {
		t.Fatal(err)
	}
	step, err := s.ErasePostgres(ctx, grace)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{grace, merged} {
		if k, v := rows(id); k+v != 0 {
			t.Errorf("contact %s keeps %d keys and %d rows of values after its erasure", id, k, v)
		}
	}
	if step.Removed["contact_keys"] == 0 || step.Removed["match_values"] == 0 {
		t.Errorf("the receipt counts %v", step.Removed)
	}
	if k, v := rows(other); k == 0 || v == 0 {
		t.Errorf("another contact keeps %d keys and %d rows of values", k, v)
	}
	checkValues(t, s, "after an erasure")
}
