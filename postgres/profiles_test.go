package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
)

func TestResolveContactLinksAnonymousVisitor(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	anon := kith.Identity{Kind: kith.IdentityAnonymous, Value: "anon-1"}
	email := kith.Identity{Kind: kith.IdentityEmail, Value: "ada@example.com"}

	// The visitor browsed before saying who they are.
	if _, err := s.InsertEvents(ctx, []kith.Event{{EventID: "e1", AnonymousID: "anon-1", Type: "page_view", Source: kith.SourceTracker, OccurredAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	first, err := s.ResolveContact(ctx, []kith.Identity{anon}, uuid.NewString(), kith.SourceForm)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.ResolveContact(ctx, []kith.Identity{email, anon}, uuid.NewString(), kith.SourceForm)
	if err != nil || again != first {
		t.Fatalf("second visit resolved to %s (%v), want %s", again, err, first)
	}
	var owner string
	if err := s.DB().GetContext(ctx, &owner, `SELECT contact_id::text FROM events WHERE event_id = 'e1'`); err != nil || owner != first {
		t.Errorf("anonymous event belongs to %q (%v), want %s", owner, err, first)
	}
	if id, err := s.ContactIDFor(ctx, email); err != nil || id != first {
		t.Errorf("email identity → %q (%v)", id, err)
	}

	// The same cookie later used by someone with another, known email follows them.
	other, err := s.ResolveContact(ctx, []kith.Identity{{Kind: kith.IdentityEmail, Value: "bob@example.com"}}, uuid.NewString(), kith.SourceForm)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := s.ResolveContact(ctx, []kith.Identity{{Kind: kith.IdentityEmail, Value: "bob@example.com"}, anon}, uuid.NewString(), kith.SourceForm)
	if err != nil || moved != other {
		t.Fatalf("resolved to %s (%v), want bob's %s", moved, err, other)
	}
	if id, _ := s.ContactIDFor(ctx, anon); id != other {
		t.Errorf("anonymous id stayed with %s", id)
	}
	if _, err := s.ContactIDFor(ctx, kith.Identity{Kind: kith.IdentityEmail, Value: "nobody@example.com"}); kith.ErrorCode(err) != kith.CodeNotFound {
		t.Errorf("unknown identity: %v", err)
	}
}

func TestRecordSubmissionOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	id, err := s.ResolveContact(ctx, []kith.Identity{{Kind: kith.IdentityAnonymous, Value: "anon-2"}}, uuid.NewString(), kith.SourceForm)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	prov := kith.Provenance{Source: kith.SourceForm, Ref: "sub-1", At: at}
	sub := kith.Submission{
		SubmissionID: "sub-1", Form: "profile", ContactID: id, AnonymousID: "anon-2", ReceivedAt: at,
		Fields: map[kith.Field]kith.Value{"email": {Value: "ada@example.com", Provenance: prov}, "first_name": {Value: "Ada", Provenance: prov}},
		Consents: []kith.ConsentRecord{{Purpose: "personalization", Status: kith.ConsentGranted, TextVersion: "v1",
			Source: kith.SourceForm, SourceRef: "sub-1", IP: "192.0.2.7", UserAgent: "test", At: at}},
		Raw: []byte(`{"fields":{"email":"Ada@Example.com"}}`),
	}
	for range 3 {
		c, err := s.RecordSubmission(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if c.Get(kith.FieldEmail) != "ada@example.com" || c.Fields[kith.FieldFirstName].Ref != "sub-1" {
			t.Errorf("contact %+v", c.Fields)
		}
	}
	var subs, consents, idents int
	db := s.DB()
	db.GetContext(ctx, &subs, `SELECT count(*) FROM form_submissions`)
	db.GetContext(ctx, &consents, `SELECT count(*) FROM consents`)
	db.GetContext(ctx, &idents, `SELECT count(*) FROM identities WHERE contact_id = $1`, id)
	if subs != 1 || consents != 1 || idents != 2 {
		t.Errorf("after three deliveries: %d submissions, %d consents, %d identities; want 1, 1, 2", subs, consents, idents)
	}

	withdrawn := kith.ConsentRecord{Purpose: "personalization", Status: kith.ConsentWithdrawn, TextVersion: "v1",
		Source: kith.SourceForm, SourceRef: "req-9", At: at.Add(time.Hour)}
	for range 2 {
		if err := s.RecordConsent(ctx, id, withdrawn); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := s.Consents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := cur["personalization"]; got.Status != kith.ConsentWithdrawn || !got.At.Equal(withdrawn.At) || got.SourceRef != "req-9" {
		t.Errorf("current consent %+v", got)
	}
	db.GetContext(ctx, &consents, `SELECT count(*) FROM consents`)
	if consents != 2 {
		t.Errorf("%d consent rows, want 2", consents)
	}
}
