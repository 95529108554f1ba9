package postgres_test

import (
	"context"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/postgres"
)

func TestMergeAndUnmergeRestoreRecordsAndIdentities(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	pair := stored(t, s,
		input(at, kith.SourceCRM, "email", "ada@example.com", "first_name", "Ada", "phone", "+4741234567"),
		input(at, kith.SourceForm, "email", "ada.l@example.org", "first_name", "Ada", "last_name", "Lovelace"))
	a, b := pair[0], pair[1]
	beforeA, _ := s.Contact(ctx, a)
	beforeB, _ := s.Contact(ctx, b)

	golden := map[kith.Field]kith.Value{
		"email": beforeA.Fields["email"], "first_name": beforeA.Fields["first_name"],
		"phone": beforeA.Fields["phone"], "last_name": beforeB.Fields["last_name"],
	}
	m := kith.Merge{SurvivorID: a, MergedIDs: []string{b}, Golden: golden, Score: 0.97, Reason: "auto", Actor: "dedup"}
	ids, err := s.MergeContacts(ctx, m)
	if err != nil || len(ids) != 1 {
		t.Fatalf("merge: %v %v", ids, err)
	}
	if again, err := s.MergeContacts(ctx, m); err != nil || len(again) != 0 {
		t.Errorf("a retried merge: %v %v", again, err)
	}
	merged, _ := s.Contact(ctx, a)
	if merged.Get("last_name") != "Lovelace" || merged.Get("phone") != "+4741234567" {
		t.Errorf("survivor after merge: %+v", merged.Fields)
	}
	// The record keeps the survivor as it was (the merge rewrote it), not the
	// merged contact, whose own row the undo reads back.
	var keeps struct {
		Survivor bool `db:"survivor"`
		Merged   bool `db:"merged"`
	}
	if err := s.DB().Get(&keeps, `SELECT snapshot ? 'survivor' AS survivor, snapshot ? 'merged' AS merged FROM merges WHERE id = $1`, ids[0]); err != nil || !keeps.Survivor || keeps.Merged {
		t.Errorf("the merge record keeps %+v (%v), want the survivor only", keeps, err)
	}
	if owner, _ := s.ContactIDByEmail(ctx, "ada.l@example.org"); owner != a {
		t.Errorf("the merged email belongs to %s, want the survivor", owner)
	}
	var status string
	s.DB().Get(&status, `SELECT status FROM contacts WHERE id = $1`, b)
	if status != "merged" {
		t.Errorf("merged contact status %q", status)
	}

	for range 2 { // the second time is a retry: nothing changes
		if _, err := s.Unmerge(ctx, ids[0], "reviewer@kith"); err != nil {
			t.Fatal(err)
		}
	}
	afterA, _ := s.Contact(ctx, a)
	afterB, _ := s.Contact(ctx, b)
	for f := range beforeA.Fields {
		if afterA.Get(f) != beforeA.Get(f) {
			t.Errorf("survivor %s = %q, want %q", f, afterA.Get(f), beforeA.Get(f))
		}
	}
	if afterA.Get("last_name") != "" || afterB.Get("last_name") != "Lovelace" || afterB.Get("email") != "ada.l@example.org" {
		t.Errorf("after unmerge: survivor %+v, merged %+v", afterA.Fields, afterB.Fields)
	}
	if owner, _ := s.ContactIDByEmail(ctx, "ada.l@example.org"); owner != b {
		t.Errorf("the email belongs to %s after unmerge, want %s", owner, b)
	}
	s.DB().Get(&status, `SELECT status FROM contacts WHERE id = $1`, b)
	var undone int
	s.DB().Get(&undone, `SELECT count(*) FROM merges WHERE undone_at IS NOT NULL`)
	if status != "active" || undone != 1 {
		t.Errorf("status %q, %d merges undone", status, undone)
	}
}

func TestReviewQueueRemembersDecisions(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s.UpsertContacts(ctx, []kith.ContactInput{
		input(at, kith.SourceCRM, "email", "ole@example.com", "first_name", "Ole"),
		input(at, kith.SourceCRM, "email", "ole.h@example.com", "first_name", "Ole"),
	})
	a, _ := s.ContactIDByEmail(ctx, "ole@example.com")
	b, _ := s.ContactIDByEmail(ctx, "ole.h@example.com")
	if err := s.QueueReview(ctx, []kith.ReviewPair{{A: b, B: a, Probability: 0.7}}); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.ReviewDecisions(ctx); len(d) != 0 {
		t.Errorf("undecided pairs count as decisions: %v", d)
	}
	if pending, err := s.PendingReviews(ctx, 10); err != nil || len(pending) != 1 || pending[0].Probability != 0.7 {
		t.Errorf("pending %+v %v", pending, err)
	}
	// Queued again while pending, twice in one call and in either order: one
	// pair, with the last probability given.
	if err := s.QueueReview(ctx, []kith.ReviewPair{{A: a, B: b, Probability: 0.6}, {A: b, B: a, Probability: 0.65, Reason: "phone differs"}}); err != nil {
		t.Fatal(err)
	}
	if pending, err := s.PendingReviews(ctx, 10); err != nil || len(pending) != 1 || pending[0].Probability != 0.65 || pending[0].Reason != "phone differs" {
		t.Errorf("pending after queueing again %+v %v", pending, err)
	}
	if err := s.DecideReview(ctx, a, b, false, "reviewer@kith"); err != nil {
		t.Fatal(err)
	}
	// A later run queues the pair again: the decision stands.
	s.QueueReview(ctx, []kith.ReviewPair{{A: a, B: b, Probability: 0.8}})
	d, err := s.ReviewDecisions(ctx)
	if err != nil || len(d) != 1 || d[pair(a, b)] != false {
		t.Errorf("decisions %v, %v", d, err)
	}
	if _, ok := d[pair(a, b)]; !ok {
		t.Error("the decision is missing")
	}
}

// TestMergesInOneBatchAreAllOrNothing: several merges in one call are applied
// together, their records in order; one that cannot be applied (its contact was
// archived meanwhile) leaves every merge of the batch undone; a contact in two
// merges of a batch is refused.
func TestMergesInOneBatchAreAllOrNothing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var in []kith.ContactInput
	for _, e := range []string{"a1", "a2", "b1", "b2", "b3", "c1", "c2"} {
		in = append(in, input(at, kith.SourceImport, "email", e+"@example.com", "first_name", e))
	}
	if _, err := s.UpsertContacts(ctx, in); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // before the merges move the emails
	for _, e := range []string{"a1", "a2", "b1", "b2", "b3", "c1", "c2"} {
		ids[e], _ = s.ContactIDByEmail(ctx, e+"@example.com")
	}
	id := func(e string) string { return ids[e] }
	a := kith.Merge{SurvivorID: id("a1"), MergedIDs: []string{id("a2")}, Reason: "test", Actor: "test"}
	b := kith.Merge{SurvivorID: id("b1"), MergedIDs: []string{id("b2"), id("b3")}, Reason: "test", Actor: "test"}
	c := kith.Merge{SurvivorID: id("c1"), MergedIDs: []string{id("c2")}, Reason: "test", Actor: "test"}
	merged := func() int {
		var n int
		s.DB().Get(&n, `SELECT count(*) FROM contacts WHERE status = 'merged'`)
		return n
	}

	if _, err := s.MergeContacts(ctx, a, kith.Merge{SurvivorID: id("c1"), MergedIDs: []string{id("a2")}}); err == nil {
		t.Error("a contact in two merges of one batch was accepted")
	}
	if _, err := s.DB().Exec(`UPDATE contacts SET status = 'archived' WHERE id = $1`, id("c2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MergeContacts(ctx, a, b, c); kith.ErrorCode(err) != kith.CodeConflict || merged() != 0 {
		t.Fatalf("a batch with an archived contact: %v, %d contacts merged; want a conflict and none", err, merged())
	}
	records, err := s.MergeContacts(ctx, a, b)
	if err != nil || len(records) != 3 || merged() != 3 {
		t.Fatalf("merges %v, %v, %d contacts merged; want 3 records", records, err, merged())
	}
	var order []string
	s.DB().Select(&order, `SELECT merged_id::text FROM merges WHERE id = ANY($1) ORDER BY id`, pq.Array(records))
	if len(order) != 3 || order[0] != id("a2") || order[2] != id("b3") {
		t.Errorf("merge records in the order %v", order)
	}
	if owner, _ := s.ContactIDByEmail(ctx, "b3@example.com"); owner != id("b1") {
		t.Errorf("b3's email belongs to %s, want b1", owner)
	}
}

// A merge does not wait for a transaction that only refers to its contacts
// (a review pair being queued, whose foreign keys key-share-lock both
// contacts): waiting there deadlocked two merge parts of a 10M run, one
// queueing review pairs while the other merged one of their contacts.
func TestMergeDoesNotWaitForRowsReferringToItsContacts(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.UpsertContacts(ctx, []kith.ContactInput{
		input(at, kith.SourceCRM, "email", "ada@example.com", "first_name", "Ada"),
		input(at, kith.SourceForm, "email", "ada.l@example.org", "first_name", "Ada"),
		input(at, kith.SourceForm, "email", "grace@example.org", "first_name", "Grace"),
	}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.ContactIDByEmail(ctx, "ada@example.com")
	b, _ := s.ContactIDByEmail(ctx, "ada.l@example.org")
	g, _ := s.ContactIDByEmail(ctx, "grace@example.org")
	queueing, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer queueing.Rollback()
	first, second := b, g
	if second < first {
		first, second = second, first
	}
	if _, err := queueing.Exec(`INSERT INTO merge_reviews (a_id, b_id, probability) VALUES ($1, $2, 0.5)`, first, second); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.MergeContacts(ctx, kith.Merge{SurvivorID: a, MergedIDs: []string{b}, Score: 0.99, Reason: "test", Actor: "dedup"})
		done <- err
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		var waiting int
		if err := s.DB().Get(&waiting, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			t.Fatal("the merge waits for the transaction queueing a review pair of its contact")
		}
	}
}

// A merge whose golden record is the survivor's profile as it was (most merges
// of a list's duplicates) leaves that profile as it was — its updated_at, its
// match values, its keys — and the survivor unwritten (changed_at, which the
// warehouse loads by) unless what the warehouse shows of it changed: a
// consent moved to it, here in a second merge.
func TestMergeKeepingTheProfileMarksTheSurvivorOnly(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ids := stored(t, s,
		input(at, kith.SourceImport, "email", "ada@example.com", "first_name", "Ada", "last_name", "Lovelace", "phone", "+4741234567"),
		input(at, kith.SourceImport, "email", "ada.l@example.org", "first_name", "Ada", "last_name", "Lovelace"))
	a, b := ids[0], ids[1]
	before, _ := s.Contact(ctx, a)
	type row struct {
		Updated time.Time `db:"updated_at"`
		Changed time.Time `db:"changed_at"`
		Values  string    `db:"vals"`
	}
	read := func() row {
		t.Helper()
		var r row
		if err := s.DB().Get(&r, `SELECT c.updated_at, c.changed_at,
				(SELECT string_agg(concat_ws('|', source, ref, at, array_to_string(vals, ',')), ';' ORDER BY source, ref) FROM match_values WHERE holder_id = c.id) AS vals
			FROM contacts c WHERE c.id = $1`, a); err != nil {
			t.Fatal(err)
		}
		return r
	}
	was := read()
	golden := map[kith.Field]kith.Value{}
	for f, v := range before.Fields {
		golden[f] = v
	}
	if _, err := s.MergeContacts(ctx, kith.Merge{SurvivorID: a, MergedIDs: []string{b}, Golden: golden, Score: 0.99, Reason: "test", Actor: "dedup"}); err != nil {
		t.Fatal(err)
	}
	now := read()
	if !now.Updated.Equal(was.Updated) {
		t.Errorf("the survivor's profile was written again: updated_at %s, was %s", now.Updated, was.Updated)
	}
	if !now.Changed.Equal(was.Changed) {
		t.Errorf("the survivor is marked written though the warehouse shows nothing new of it: changed_at %s, was %s", now.Changed, was.Changed)
	}
	if wasProfile, nowProfile := strings.Split(was.Values, ";")[0], strings.Split(now.Values, ";")[0]; nowProfile != wasProfile {
		t.Errorf("the survivor's profile match values %q, were %q", nowProfile, wasProfile)
	}
	after, _ := s.Contact(ctx, a)
	if !reflect.DeepEqual(after.Fields, before.Fields) {
		t.Errorf("the survivor's profile %+v, was %+v", after.Fields, before.Fields)
	}
	checkValues(t, s, "after a merge keeping the profile")

	// Undone, it gives the merged contact back from its own row.
	var mergeID int64
	s.DB().Get(&mergeID, `SELECT id FROM merges WHERE merged_id = $1`, b)
	if _, err := s.Unmerge(ctx, mergeID, "reviewer@kith"); err != nil {
		t.Fatal(err)
	}
	survivor, _ := s.Contact(ctx, a)
	back, _ := s.Contact(ctx, b)
	if !reflect.DeepEqual(survivor.Fields, before.Fields) || back.Get("email") != "ada.l@example.org" || back.Get("last_name") != "Lovelace" {
		t.Errorf("after the undo: survivor %+v, merged %+v", survivor.Fields, back.Fields)
	}
	if owner, _ := s.ContactIDByEmail(ctx, "ada.l@example.org"); owner != b {
		t.Errorf("the email belongs to %s after the undo, want %s", owner, b)
	}
	checkValues(t, s, "after undoing a merge that kept the profile")

	// A duplicate that consented: its consent moves to the survivor, which
	// the warehouse now shows consenting, so it is marked written.
	c := stored(t, s, input(at, kith.SourceImport, "email", "ada3@example.net", "first_name", "Ada", "last_name", "Lovelace"))[0]
	if err := s.RecordConsent(ctx, c, kith.ConsentRecord{Purpose: "email_marketing", Status: kith.ConsentGranted, TextVersion: "v1",
		Source: kith.SourceForm, SourceRef: "submission-1", At: at}); err != nil {
		t.Fatal(err)
	}
	was = read()
	if _, err := s.MergeContacts(ctx, kith.Merge{SurvivorID: a, MergedIDs: []string{c}, Score: 0.99, Reason: "test", Actor: "dedup"}); err != nil {
		t.Fatal(err)
	}
	var consenting bool
	if err := s.DB().Get(&consenting, `SELECT email_marketing_consent FROM warehouse.dim_contact WHERE contact_id = $1`, a); err != nil || !consenting {
		t.Errorf("the warehouse shows the survivor consenting: %v, %v; want true", consenting, err)
	}
	if now := read(); !now.Changed.After(was.Changed) || !now.Updated.Equal(was.Updated) {
		t.Errorf("after a consent moved to it, the survivor's changed_at %s (was %s), updated_at %s (was %s): want it marked written, its profile not",
			now.Changed, was.Changed, now.Updated, was.Updated)
	}
}

// TestDecisionsAmongTheGivenContacts: the reviewers' decisions on pairs of
// the given contacts, pending pairs and pairs with another contact left out,
// alike whether the contacts are looked up, the decided pairs read whole, or
// (more decided pairs than contacts) looked up again.
func TestDecisionsAmongTheGivenContacts(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var in []kith.ContactInput
	for _, p := range []string{"a", "b", "c", "d", "e"} {
		in = append(in, input(at, kith.SourceImport, "email", p+"@example.com"))
	}
	ids := stored(t, s, in...)
	a, b, c, d, e := ids[0], ids[1], ids[2], ids[3], ids[4]
	if err := s.QueueReview(ctx, []kith.ReviewPair{{A: a, B: b, Probability: 0.7}, {A: c, B: a, Probability: 0.6}, {A: b, B: d, Probability: 0.6}, {A: c, B: e, Probability: 0.6}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		x, y  string
		merge bool
	}{{a, b, true}, {a, c, false}, {c, e, false}} {
		if err := s.DecideReview(ctx, p.x, p.y, p.merge, "reviewer@kith"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		lookups int
		ids     []string
		want    map[[2]string]bool
	}{
		{"looked up", 100, []string{a, b, c, d}, map[[2]string]bool{pair(a, b): true, pair(a, c): false}},
		{"read whole", 1, []string{a, b, c, d}, map[[2]string]bool{pair(a, b): true, pair(a, c): false}},
		{"more decided than contacts", 1, []string{a, b}, map[[2]string]bool{pair(a, b): true}},
	} {
		got, err := postgres.DecisionsAmong(ctx, s, tc.lookups, tc.ids)
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// pair is two contacts as a decision's key: in id order.
func pair(x, y string) [2]string {
	if x > y {
		x, y = y, x
	}
	return [2]string{x, y}
}
