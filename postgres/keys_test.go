package postgres_test

import (
	"context"
	"slices"
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
	if _, err := s.Unmerge(ctx, ids[0], "reviewer"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(storedKeys(t, s, a), beforeA) || !slices.Equal(storedKeys(t, s, b), beforeB) {
		t.Errorf("after unmerge: %v and %v, want %v and %v", storedKeys(t, s, a), storedKeys(t, s, b), beforeA, beforeB)
	}

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
	if err := s.RestoreContact(ctx, b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(storedKeys(t, s, b), beforeB) {
		t.Errorf("restored keys %v, want %v", storedKeys(t, s, b), beforeB)
	}

	// A migration's backfill rebuilds keys lost or never written.
	if _, err := s.DB().Exec(`DELETE FROM contact_keys; UPDATE backfills SET cursor = '', done_at = NULL WHERE name = 'contact_keys'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(storedKeys(t, s, a), beforeA) || !slices.Equal(storedKeys(t, s, b), beforeB) {
		t.Errorf("after the backfill: %v and %v, want %v and %v", storedKeys(t, s, a), storedKeys(t, s, b), beforeA, beforeB)
	}
}
