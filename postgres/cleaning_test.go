package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/quality"
)

// cleanAll runs the cleaning's steps in the workflow's order, in batches of the
// given size; took has each step's time.
func cleanAll(t testing.TB, s *postgres.Store, now time.Time, batch int) (std activities.StandardizeResult, dd activities.DedupSummary,
	ar kith.ArchiveCounts, took map[string]time.Duration) {
	t.Helper()
	ctx := context.Background()
	took = map[string]time.Duration{}
	step := func(name string, f func() error) {
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		took[name] = time.Since(start)
	}
	c := &activities.Cleaning{Store: s, Now: func() time.Time { return now }}
	in := activities.StandardizeInput{BatchSize: batch}
	step("standardize", func() (err error) { std, err = c.Standardize(ctx, in); return })
	step("dedup", func() (err error) { dd, err = (&activities.Dedup{Store: s}).Resolve(ctx); return })
	if dd.Merges > 0 {
		rescore := activities.StandardizeInput{BatchSize: batch, MergesFrom: dd.FirstMerge}
		step("rescore", func() error { _, err := c.Standardize(ctx, rescore); return err })
	}
	step("archive", func() (err error) {
		ar, err = (&activities.Archiver{Store: s, Now: func() time.Time { return now }}).Archive(ctx, activities.ArchiveInput{InactiveDays: 365})
		return
	})
	return std, dd, ar, took
}

func TestCleaningAMessyDatasetThenNothingToDo(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := now.Add(-24 * time.Hour)
	var in []kith.ContactInput
	for i := range 10 { // ordinary, known contacts
		in = append(in, input(at, kith.SourceImport, "email", fmt.Sprintf("known%d@example.com", i), "first_name", "Known",
			"last_name", fmt.Sprintf("Person%c", 'A'+i), "birth_date", fmt.Sprintf("19%d0-0%d-15", 5+i%4, 1+i%9), "country", "NO"))
	}
	in = append(in,
		input(at, kith.SourceCRM, "email", "ada@example.com", "first_name", "Ada", "last_name", "Lovelace", "phone", "+4741234567",
			"phone_type", "mobile", "birth_date", "1990-12-10", "country", "NO"),
		input(at, kith.SourceForm, "email", "ada.l@example.org", "first_name", "Ada", "last_name", "Lovelace", "phone", "+4741234567",
			"phone_type", "mobile", "birth_date", "1990-12-10", "country", "NO", "city", "Oslo"),
		input(at, kith.SourceImport, "email", "badphone@example.com", "first_name", "Bad", "last_name", "Phone", "phone", "12345", "birth_date", "1980-01-01", "country", "NO"),
		input(at, kith.SourceImport, "email", "grace@example.com", "first_name", "grace", "last_name", "HOPPER", "birth_date", "1975-12-09", "country", "NO"),
		input(at, kith.SourceImport, "email", "noage1@example.com", "first_name", "Noage", "last_name", "One", "country", "NO"),
		input(at, kith.SourceImport, "email", "noage2@example.com", "first_name", "Noage", "last_name", "Two", "country", "NO"),
		input(at, kith.SourceImport, "email", "noage3@example.com", "first_name", "Noage", "last_name", "Three", "country", "NO"),
		input(at, kith.SourceImport, "email", "dormant@example.com", "first_name", "Dormant", "last_name", "Person", "birth_date", "1960-05-05", "country", "NO"),
		input(at, kith.SourceImport, "email", "bounced@example.com", "first_name", "Bounced", "last_name", "Person", "birth_date", "1970-05-05", "country", "NO"),
		input(at, kith.SourceImport, "email", "unsub@example.com", "first_name", "Unsub", "last_name", "Person", "birth_date", "1980-05-05", "country", "NO"),
	)
	if _, err := s.UpsertContacts(ctx, in); err != nil {
		t.Fatal(err)
	}
	id := func(email string) string { v, _ := s.ContactIDByEmail(ctx, email); return v }
	// Everyone engaged recently, but the dormant contact, created two years ago.
	var events []kith.Event
	for i, c := range in {
		e := c.Fields["email"].Value
		if e == "dormant@example.com" {
			continue
		}
		typ := "page_view"
		if e == "bounced@example.com" {
			typ = "hard_bounce"
		}
		events = append(events, kith.Event{EventID: fmt.Sprint("ev", i), ContactID: id(e), Type: typ, Source: kith.SourceTracker, OccurredAt: at})
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`UPDATE contacts SET created_at = $2 WHERE id = $1`, id("dormant@example.com"), now.AddDate(-2, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordConsent(ctx, id("unsub@example.com"), kith.ConsentRecord{Purpose: "email_marketing", Status: kith.ConsentWithdrawn,
		TextVersion: "v1", Source: kith.SourceForm, SourceRef: "unsub-1", At: at}); err != nil {
		t.Fatal(err)
	}

	std, dd, ar, _ := cleanAll(t, s, now, 7)
	if std.Checked != 20 || std.Changed != 5 || std.Rejected != 1 || std.Imputed != 3 {
		t.Errorf("standardize: %+v; want 20 checked, 5 changed (bad phone, grace, three ages), 1 rejected, 3 imputed", std)
	}
	if dd.Merges != 1 {
		t.Errorf("dedup merged %d, want Ada's two records", dd.Merges)
	}
	if ar.Unsubscribed != 1 || ar.HardBounce != 1 || ar.Inactive != 1 || len(ar.IDs) != 3 {
		t.Errorf("archived %+v, want one of each reason and their three ids", ar)
	}
	grace, _ := s.Contact(ctx, id("grace@example.com"))
	bad, _ := s.Contact(ctx, id("badphone@example.com"))
	noage, _ := s.Contact(ctx, id("noage1@example.com"))
	if grace.Get("first_name") != "Grace" || grace.Get("last_name") != "Hopper" || bad.Get("phone") != "" {
		t.Errorf("re-standardized: %+v / %+v", grace.Fields, bad.Fields)
	}
	if a := noage.Fields["age"]; a.Value == "" || !a.Imputed || a.Method == "" {
		t.Errorf("imputed age %+v", a)
	}
	var completeness, quarantined int
	s.DB().Get(&completeness, `SELECT count(*) FROM contacts WHERE completeness IS NULL AND status = 'active'`)
	s.DB().Get(&quarantined, `SELECT count(*) FROM quarantine WHERE source = 'cleaning'`)
	if completeness != 0 || quarantined != 1 {
		t.Errorf("%d active contacts without completeness, %d quarantined", completeness, quarantined)
	}
	if err := s.RestoreContact(ctx, id("dormant@example.com")); err != nil {
		t.Fatal(err)
	}

	// A second run finds nothing to do (the restored contact aside, archived again).
	std, dd, ar, _ = cleanAll(t, s, now, 7)
	if std.Changed != 0 || std.Rejected != 0 || std.Imputed != 0 || dd.Merges != 0 || ar.Unsubscribed != 0 || ar.HardBounce != 0 || ar.Inactive != 1 {
		t.Errorf("second run: %+v, %d merged, archived %+v; want nothing but the restored dormant contact", std, dd.Merges, ar)
	}
}

// Ages missing from contacts with product events are read from what they look
// at (k nearest neighbours over categories), the rest from their country's
// median; the held-back known ages show the first is the better guess.
func TestCleaningImputesAgesFromBehaviour(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(5, 5))
	var in []kith.ContactInput
	ages := map[string]int{}
	for i := range 400 {
		email := fmt.Sprintf("shopper%d@example.com", i)
		age := 18 + r.IntN(62)
		ages[email] = age
		kv := []string{"email", email, "country", "NO"}
		if i%5 != 0 { // every fifth has no age: the Cleaning imputes it
			kv = append(kv, "birth_date", now.AddDate(-age, -1-r.IntN(10), 0).Format(time.DateOnly))
		}
		in = append(in, input(now.Add(-time.Hour), kith.SourceImport, kv...))
	}
	if _, err := s.UpsertContacts(ctx, in); err != nil {
		t.Fatal(err)
	}
	var events []kith.Event
	for i := range 400 {
		email := fmt.Sprintf("shopper%d@example.com", i)
		id, _ := s.ContactIDByEmail(ctx, email)
		for j, c := range quality.ShopperCategories(ages[email], 8, r) {
			events = append(events, kith.Event{EventID: fmt.Sprintf("pv-%d-%d", i, j), ContactID: id, Type: "Product Viewed",
				Source: kith.SourceTracker, OccurredAt: now.Add(-time.Hour), Properties: json.RawMessage(`{"category":"` + c + `"}`)})
		}
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	res, err := (&activities.Cleaning{Store: s, Now: func() time.Time { return now }}).Standardize(ctx, activities.StandardizeInput{})
	if err != nil {
		t.Fatal(err)
	}
	m := res.AgeModel
	t.Logf("imputed %d ages (%d by behaviour); held-out %d: MAE by behaviour %.2f, country median %.2f",
		res.Imputed, res.ImputedByBehaviour, m.HeldOut, m.MAEBehaviour, m.MAEMedian)
	if res.Imputed != 80 || res.ImputedByBehaviour != 80 {
		t.Errorf("imputed %d ages, %d by behaviour; want all 80 missing ones by behaviour", res.Imputed, res.ImputedByBehaviour)
	}
	if m.HeldOut < 30 || m.Categories != 7 || m.MAEBehaviour >= 0.8*m.MAEMedian {
		t.Errorf("age model %+v: want ≥ 30 held out, 7 categories and the behaviour MAE clearly under the median's", m)
	}
	// The imputed ages are flagged with their method, and close to the truth.
	var rows []struct {
		Email  string `db:"email"`
		Age    int    `db:"age"`
		Method string `db:"method"`
	}
	if err := s.DB().Select(&rows, `SELECT email, age, field_provenance->'age'->>'method' AS method FROM contacts
		WHERE (field_provenance->'age'->>'imputed')::boolean`); err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, row := range rows {
		if row.Method != "knn/product_categories" {
			t.Errorf("%s imputed by %q", row.Email, row.Method)
		}
		sum += math.Abs(float64(row.Age - ages[row.Email]))
	}
	if len(rows) == 0 || sum/float64(len(rows)) > m.MAEMedian {
		t.Errorf("imputed ages' MAE %.2f over %d contacts, want under the median's %.2f", sum/float64(max(len(rows), 1)), len(rows), m.MAEMedian)
	}
}
