package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/google/uuid"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/postgres"
)

// BenchmarkAppendEvents is the group commit's statement alone: 2,000 events in
// one transaction (one in 20 relayed), per op.
func BenchmarkAppendEvents(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	props, _ := json.Marshal(map[string]any{"sku": "SKU-1", "percent": 50})
	cx, _ := json.Marshal(map[string]any{"page": map[string]any{"path": "/p/1"}, "userAgent": "bench"})
	n := 0
	for b.Loop() {
		events := make([]kith.Event, 2000)
		relay := make([]bool, len(events))
		for i := range events {
			n++
			events[i] = kith.Event{EventID: fmt.Sprintf("web/b-%d", n), AnonymousID: fmt.Sprintf("anon-%d", n%500), Type: "Scroll Depth",
				Source: kith.SourceTracker, OccurredAt: time.Now(), ReceivedAt: time.Now(), Properties: props, Context: cx,
				Call: "track", WriteSource: "web", MessageID: fmt.Sprintf("b-%d", n)}
			relay[i] = i%20 == 0
		}
		if _, err := s.AppendEvents(ctx, events, relay); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "events_per_s")
}

// slowLog is an event log that holds every write until release is closed.
type slowLog struct{ release chan struct{} }

func (l slowLog) AppendEvents(_ context.Context, events []kith.Event, _ []bool) ([]bool, error) {
	<-l.release
	return make([]bool, len(events)), nil
}

// TestEventWriterRefusesWhenFull: the group commit's queue is bounded; a full
// queue answers CodeBusy at once instead of buffering without limit.
func TestEventWriterRefusesWhenFull(t *testing.T) {
	log := slowLog{release: make(chan struct{})}
	w := &postgres.EventWriter{Log: log, Queue: 1, Writers: 1}
	ev := []kith.Event{{EventID: "e", Type: "t"}}
	errs := make(chan error, 2)
	go func() { _, err := w.AppendEvents(context.Background(), ev, nil); errs <- err }() // being written
	time.Sleep(100 * time.Millisecond)
	go func() { _, err := w.AppendEvents(context.Background(), ev, nil); errs <- err }() // queued
	time.Sleep(100 * time.Millisecond)
	if _, err := w.AppendEvents(context.Background(), ev, nil); kith.ErrorCode(err) != kith.CodeBusy {
		t.Errorf("a third request while one is written and one queued: %v, want busy", err)
	}
	close(log.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("a request the writer took failed: %v", err)
		}
	}
}

// TestAppendEventsStoresEachMessageOnce: new messages are copied, a batch
// holding a stored one is written by the statement that skips it; either way
// each message is stored once, answered new once, queued for its contact's
// workflow once, and takes the contact its anonymous or user id is linked to.
func TestAppendEventsStoresEachMessageOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ada, err := s.ResolveContact(ctx, []kith.Identity{{Kind: kith.IdentityEmail, Value: "ada@example.com"}, {Kind: kith.IdentityAnonymous, Value: "anon-ada"}}, uuid.NewString(), kith.SourceForm)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.ResolveContact(ctx, []kith.Identity{{Kind: kith.IdentityEmail, Value: "bob@example.com"}}, uuid.NewString(), kith.SourceForm)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LinkIdentity(ctx, bob, kith.Identity{Kind: kith.IdentityUser, Value: "user-bob"}, kith.SourceTracker); err != nil {
		t.Fatal(err)
	}
	ev := func(id, anon, user string) kith.Event {
		return kith.Event{EventID: "web/" + id, AnonymousID: anon, UserID: user, Type: "Product Viewed", Source: kith.SourceTracker,
			OccurredAt: time.Now(), Call: "track", WriteSource: "web", MessageID: id}
	}
	check := func(name string, got, want []bool) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: new = %v, want %v", name, got, want)
		}
	}
	// All new: the COPY.
	fresh, err := s.AppendEvents(ctx, []kith.Event{ev("m1", "anon-ada", ""), ev("m2", "anon-x", "user-bob"), ev("m3", "anon-x", "")}, []bool{true, true, true})
	if err != nil {
		t.Fatal(err)
	}
	check("new batch", fresh, []bool{true, true, true})
	// A stored message, a new one twice: the statement that skips stored ids.
	fresh, err = s.AppendEvents(ctx, []kith.Event{ev("m2", "anon-x", "user-bob"), ev("m4", "anon-ada", ""), ev("m4", "anon-ada", "")}, []bool{true, true, true})
	if err != nil {
		t.Fatal(err)
	}
	check("redelivered batch", fresh, []bool{false, true, false})

	rows := map[string]string{}
	var got []struct {
		ID      string  `db:"event_id"`
		Contact *string `db:"contact_id"`
	}
	if err := s.DB().SelectContext(ctx, &got, `SELECT event_id, contact_id::text AS contact_id FROM events ORDER BY event_id`); err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		rows[r.ID] = ""
		if r.Contact != nil {
			rows[r.ID] = *r.Contact
		}
	}
	want := map[string]string{"web/m1": ada, "web/m2": bob, "web/m3": "", "web/m4": ada}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("stored events and their contacts: %v, want %v", rows, want)
	}
	var queued []string
	if err := s.DB().SelectContext(ctx, &queued, `SELECT event_id FROM event_outbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(queued) != "[web/m1 web/m2 web/m3 web/m4]" {
		t.Errorf("queued for contacts' workflows: %v, want each new event once", queued)
	}
}
