package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/postgres"
)

func TestMigrateIsIdempotent(t *testing.T) {
	s := newStore(t) // migrated once already
	ctx := context.Background()
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("second migrate applied %v", applied)
	}
	ms, _ := postgres.Migrations()
	var n int
	if err := s.DB().GetContext(ctx, &n, `SELECT count(*) FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	for _, table := range []string{"contacts", "identities", "consents", "events", "form_submissions", "orders", "tickets", "merges", "quarantine", "audit_log", "load_watermarks", "import_checkpoints"} {
		var exists bool
		if err := s.DB().GetContext(ctx, &exists, `SELECT to_regclass($1) IS NOT NULL`, table); err != nil || !exists {
			t.Errorf("table %s missing (%v)", table, err)
		}
	}
}

// stored writes inputs as one batch and returns each one's contact id, found
// by its email.
func stored(t *testing.T, s *postgres.Store, inputs ...kith.ContactInput) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.UpsertContacts(ctx, inputs); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(inputs))
	for i, in := range inputs {
		id, err := s.ContactIDByEmail(ctx, in.Fields[kith.FieldEmail].Value)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

func input(at time.Time, src kith.Source, kv ...string) kith.ContactInput {
	in := kith.ContactInput{Fields: map[kith.Field]kith.Value{}}
	for i := 0; i < len(kv); i += 2 {
		in.Fields[kith.Field(kv[i])] = kith.Value{Value: kv[i+1], Provenance: kith.Provenance{Source: src, At: at}}
	}
	return in
}

func TestUpsertContacts(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

	res, err := s.UpsertContacts(ctx, []kith.ContactInput{
		input(t0, kith.SourceImport, "email", "ada@example.com", "first_name", "Ada", "birth_date", "1990-12-10"),
		input(t0, kith.SourceImport, "email", "bob@example.com", "city", "Oslo"),
		input(t0, kith.SourceImport, "email", "ada@example.com", "last_name", "Lovelace"), // same person twice in a batch
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (kith.UpsertResult{Created: 2, Unchanged: 1}); res != want {
		t.Errorf("first upsert = %+v, want %+v", res, want)
	}

	// The same batch again changes nothing.
	res, err = s.UpsertContacts(ctx, []kith.ContactInput{
		input(t0, kith.SourceImport, "email", "ada@example.com", "first_name", "Ada", "birth_date", "1990-12-10"),
		input(t0, kith.SourceImport, "email", "bob@example.com", "city", "Oslo"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (kith.UpsertResult{Unchanged: 2}); res != want {
		t.Errorf("repeat upsert = %+v, want %+v", res, want)
	}

	// An imputed city never overwrites Bob's provided one; a later provided one does.
	imp := input(t0.Add(time.Hour), kith.SourceImputed, "email", "bob@example.com", "city", "Bergen")
	v := imp.Fields[kith.FieldCity]
	v.Imputed, v.Method, v.Confidence = true, "mode", 0.4
	imp.Fields[kith.FieldCity] = v
	if res, err = s.UpsertContacts(ctx, []kith.ContactInput{imp}); err != nil || res.Unchanged != 1 {
		t.Fatalf("imputed upsert = %+v, %v; want unchanged", res, err)
	}
	if res, err = s.UpsertContacts(ctx, []kith.ContactInput{input(t0.Add(2*time.Hour), kith.SourceForm, "email", "bob@example.com", "city", "Trondheim")}); err != nil || res.Updated != 1 {
		t.Fatalf("provided upsert = %+v, %v; want updated", res, err)
	}

	id, err := s.ContactIDByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ada, err := s.Contact(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[kith.Field]string{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "birth_date": "1990-12-10"} {
		if got := ada.Get(f); got != want {
			t.Errorf("ada.%s = %q, want %q", f, got, want)
		}
		if p := ada.Fields[f].Provenance; p.Source != kith.SourceImport || !p.At.Equal(t0) {
			t.Errorf("ada.%s provenance = %+v", f, p)
		}
	}
	bobID, err := s.ContactIDByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.Contact(ctx, bobID)
	if err != nil {
		t.Fatal(err)
	}
	if p := bob.Fields["city"].Provenance; p.Source != kith.SourceForm || p.Imputed {
		t.Errorf("bob city provenance = %+v, want provided by form", p)
	}
	var contacts, identities int
	s.DB().GetContext(ctx, &contacts, `SELECT count(*) FROM contacts`)
	s.DB().GetContext(ctx, &identities, `SELECT count(*) FROM identities`)
	if contacts != 2 || identities != 2 {
		t.Errorf("contacts=%d identities=%d, want 2 and 2", contacts, identities)
	}
}

func TestUpsertContactsConcurrentSameEmail(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := s.UpsertContacts(ctx, []kith.ContactInput{input(time.Unix(int64(i), 0), kith.SourceForm, "email", "same@example.com")})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	s.DB().GetContext(ctx, &n, `SELECT count(*) FROM contacts`)
	if n != 1 {
		t.Errorf("%d contacts for one email, want 1", n)
	}
}

func TestInsertEventsIdempotent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ev := []kith.Event{
		{EventID: "e1", AnonymousID: "anon-1", Type: "page_view", Source: kith.SourceTracker, OccurredAt: time.Now(), Properties: json.RawMessage(`{"path":"/"}`)},
		{EventID: "e2", AnonymousID: "anon-1", Type: "click", Source: kith.SourceTracker, OccurredAt: time.Now()},
	}
	if n, err := s.InsertEvents(ctx, ev); err != nil || n != 2 {
		t.Fatalf("first insert = %d, %v", n, err)
	}
	if n, err := s.InsertEvents(ctx, ev); err != nil || n != 0 {
		t.Fatalf("redelivery inserted %d, %v; want 0", n, err)
	}
	if _, err := s.InsertEvents(ctx, []kith.Event{{Type: "x"}}); kith.ErrorCode(err) != kith.CodeInvalid {
		t.Errorf("event without id: err = %v, want invalid", err)
	}
}

func TestQuarantineKeepsBytesOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	junk := []byte{0x00, 0xff, 'a', '\n', 0xfe}
	q := []kith.Quarantined{{Source: kith.SourceImport, Ref: "f:row:1", Payload: junk,
		Violations: kith.Violations{{Field: "email", Code: "invalid_email", Message: "bad", Severity: kith.SeverityReject}}}}
	for range 2 {
		if err := s.Quarantine(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var rows []struct {
		Payload    []byte `db:"payload"`
		Violations []byte `db:"violations"`
	}
	if err := s.DB().SelectContext(ctx, &rows, `SELECT payload, violations FROM quarantine`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d quarantine rows, want 1", len(rows))
	}
	if string(rows[0].Payload) != string(junk) {
		t.Errorf("payload = %v, want %v", rows[0].Payload, junk)
	}
	var vs kith.Violations
	json.Unmarshal(rows[0].Violations, &vs)
	if len(vs) != 1 || vs[0].Code != "invalid_email" {
		t.Errorf("violations = %+v", vs)
	}
}

func TestCommitImportBatchCheckpoint(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Now()
	cp, err := s.CommitImportBatch(ctx, kith.ImportBatch{ImportID: "imp", From: 0, To: 100, Rows: 2,
		Contacts:   []kith.ContactInput{input(at, kith.SourceImport, "email", "x@example.com")},
		Quarantine: []kith.Quarantined{{Source: kith.SourceImport, Ref: "imp:row:2", Payload: []byte("bad"), Violations: kith.Violations{{Code: "c", Severity: kith.SeverityReject}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (kith.ImportCheckpoint{Offset: 100, Row: 2, Created: 1, Quarantined: 1, Skipped: 1}); cp != want {
		t.Errorf("checkpoint = %+v, want %+v", cp, want)
	}
	// A second attempt of the same batch (a retry that lost the race) is refused and
	// stores nothing.
	_, err = s.CommitImportBatch(ctx, kith.ImportBatch{ImportID: "imp", From: 0, To: 100, Rows: 2,
		Contacts: []kith.ContactInput{input(at, kith.SourceImport, "email", "y@example.com")}})
	if kith.ErrorCode(err) != kith.CodeConflict {
		t.Errorf("stale batch: err = %v, want conflict", err)
	}
	got, err := s.ImportCheckpoint(ctx, "imp")
	if err != nil || got != cp {
		t.Errorf("stored checkpoint = %+v, %v; want %+v", got, err, cp)
	}
	if _, err := s.ContactIDByEmail(ctx, "y@example.com"); kith.ErrorCode(err) != kith.CodeNotFound {
		t.Errorf("refused batch stored its contact: %v", err)
	}
	cp, err = s.CommitImportBatch(ctx, kith.ImportBatch{ImportID: "imp", From: 100, To: 150, Rows: 1, Done: true,
		Contacts: []kith.ContactInput{input(at, kith.SourceImport, "email", "x@example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (kith.ImportCheckpoint{Offset: 150, Row: 3, Created: 1, Unchanged: 1, Quarantined: 1, Skipped: 1, Done: true}); cp != want {
		t.Errorf("final checkpoint = %+v, want %+v", cp, want)
	}
}
