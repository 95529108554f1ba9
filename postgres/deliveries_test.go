package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
)

// TestBeginDeliveryChecksAtSendTime: a delivery is written once; whether it may
// be sent is decided when it is written, from the consent, the contact's status
// and the suppression list as they are then.
func TestBeginDeliveryChecksAtSendTime(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	id, err := s.ResolveContact(ctx, []kith.Identity{{Kind: kith.IdentityEmail, Value: "ada@example.com"}}, uuid.NewString(), kith.SourceForm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`UPDATE contacts SET email = 'ada@example.com', first_name = 'Ada', last_name = 'Lovelace' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	consent := func(status kith.ConsentStatus, ref string, at time.Time) {
		t.Helper()
		if err := s.RecordConsent(ctx, id, kith.ConsentRecord{Purpose: "email_marketing", Status: status, TextVersion: "v1",
			Source: kith.SourceForm, SourceRef: ref, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	begin := func(occurrence string) kith.DeliveryRecord {
		t.Helper()
		d := kith.Delivery{ID: kith.DeliveryID(id, "browse", occurrence), ContactID: id, Rule: "browse", Template: "browse", Purpose: "email_marketing",
			Occurrence: occurrence, Status: kith.DeliverySending, DueAt: now,
			Events: []kith.EventNotice{{EventID: occurrence, Type: "Product Viewed", At: now}}}
		r, err := s.BeginDelivery(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := begin("e0"); r.Status != kith.DeliverySuppressed || r.Reason != "consent email_marketing not given" {
		t.Errorf("without consent: %s %q", r.Status, r.Reason)
	}
	consent(kith.ConsentGranted, "f1", now.Add(-time.Hour))
	r := begin("e1")
	if r.Status != kith.DeliverySending || r.To != "ada@example.com" || r.Profile[kith.FieldFirstName].Value != "Ada" {
		t.Fatalf("granted: %+v, want sending with the profile", r)
	}
	if again := begin("e1"); again.Status != kith.DeliverySending || again.ID != r.ID {
		t.Errorf("the same delivery again: %+v", again)
	}
	if err := s.CompleteDelivery(ctx, r.ID, "msg-1"); err != nil {
		t.Fatal(err)
	}
	if again := begin("e1"); again.Status != kith.DeliveryAccepted || again.ProviderMessageID != "msg-1" {
		t.Errorf("after the ESP accepted it: %+v, want accepted (a retry never sends it again)", again)
	}
	if _, err := s.DB().Exec(`INSERT INTO suppressions (email, reason, source) VALUES ('ada@example.com', 'bounce', 'esp')`); err != nil {
		t.Fatal(err)
	}
	if r := begin("e2"); r.Status != kith.DeliverySuppressed || r.Reason != "address suppressed (bounce)" {
		t.Errorf("suppressed address: %s %q", r.Status, r.Reason)
	}
	if _, err := s.DB().Exec(`DELETE FROM suppressions`); err != nil {
		t.Fatal(err)
	}
	consent(kith.ConsentWithdrawn, "u1", now)
	if r := begin("e3"); r.Status != kith.DeliverySuppressed || r.Reason != "consent email_marketing withdrawn" {
		t.Errorf("withdrawn: %s %q", r.Status, r.Reason)
	}
	consent(kith.ConsentGranted, "f2", now.Add(time.Minute))
	if _, err := s.DB().Exec(`UPDATE contacts SET status = 'archived' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if r := begin("e4"); r.Status != kith.DeliverySuppressed || r.Reason != "contact archived" {
		t.Errorf("archived: %s %q", r.Status, r.Reason)
	}
	if _, err := s.DB().Exec(`UPDATE contacts SET status = 'active' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	r = begin("e5")
	if err := s.FailDelivery(ctx, r.ID, "ESP answered 500"); err != nil {
		t.Fatal(err)
	}
	failed, err := s.ListDeliveries(ctx, kith.DeliveryFailed, 10)
	if err != nil || len(failed) != 1 || failed[0].ID != r.ID || failed[0].LastError != "ESP answered 500" || len(failed[0].Events) != 1 {
		t.Fatalf("dead letter: %+v (%v)", failed, err)
	}
	back, err := s.RetryDelivery(ctx, r.ID, "cli:ops")
	if err != nil || back.Status != kith.DeliverySending {
		t.Fatalf("retry: %+v (%v)", back, err)
	}
	if _, err := s.RetryDelivery(ctx, r.ID, "cli:ops"); kith.ErrorCode(err) != kith.CodeNotFound {
		t.Errorf("retrying one that is not failed: %v, want not found", err)
	}
	// Every attempt checks again: a replay after a withdrawal sends nothing.
	consent(kith.ConsentWithdrawn, "u2", now.Add(2*time.Minute))
	if r := begin("e5"); r.Status != kith.DeliverySuppressed || r.Reason != "consent email_marketing withdrawn" {
		t.Errorf("a replayed delivery after a withdrawal: %s %q, want suppressed", r.Status, r.Reason)
	}

	// A rule for some RFM segments sends only to contacts in them.
	consent(kith.ConsentGranted, "f3", now.Add(3*time.Minute))
	if _, err := s.DB().Exec(`UPDATE contacts SET rfm_segment = 'loyal' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		occurrence string
		segments   []string
		status     kith.DeliveryStatus
	}{{"e6", []string{"champions"}, kith.DeliverySuppressed}, {"e7", []string{"champions", "loyal"}, kith.DeliverySending}} {
		d := kith.Delivery{ID: kith.DeliveryID(id, "vip", tc.occurrence), ContactID: id, Rule: "vip", Template: "vip", Purpose: "email_marketing",
			Occurrence: tc.occurrence, Status: kith.DeliverySending, DueAt: now, Segments: tc.segments}
		r, err := s.BeginDelivery(ctx, d)
		if err != nil || r.Status != tc.status || (r.Status == kith.DeliverySending && r.Segment != "loyal") {
			t.Errorf("segments %v for a loyal contact: %s %q segment %q (%v), want %s", tc.segments, r.Status, r.Reason, r.Segment, err, tc.status)
		}
	}
	// The rule's segments are kept with the delivery: a replay checks them too.
	if _, err := s.DB().Exec(`UPDATE contacts SET rfm_segment = 'at_risk' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	again, err := s.BeginDelivery(ctx, kith.Delivery{ID: kith.DeliveryID(id, "vip", "e7"), ContactID: id, Status: kith.DeliverySending})
	if err != nil || again.Status != kith.DeliverySuppressed || again.Reason != "segment at_risk not targeted" {
		t.Errorf("the sending vip delivery tried again after the contact left the segments: %s %q (%v)", again.Status, again.Reason, err)
	}
}
