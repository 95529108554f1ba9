package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/esp/espsim"
	"github.com/kithhq/kith/workflows"
)

// subscribe signs a visitor up through the hosted form's API with both
// consents and confirms the double opt-in through its link, as a person does;
// it returns the contact.
func (k *kithEnv) subscribe(t *testing.T, email string) string {
	t.Helper()
	anon := "anon-" + uuid.NewString()
	body := map[string]any{"submission_id": "sub-" + anon, "anonymous_id": anon,
		"fields": map[string]string{"email": email, "first_name": "Ada", "country": "NO"}, "consents": consentsGiven}
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", body, &res); code != 200 && code != 201 {
		t.Fatalf("subscribe: answered %d", code)
	}
	contactID := res.ContactID
	k.followOptInLink(t, contactID)
	eventually(t, "the opt-in is confirmed", func() bool {
		return k.count(t, `SELECT count(*) FROM consents WHERE contact_id = $1 AND purpose = 'email_marketing' AND status = 'granted'`, contactID) == 1
	})
	return contactID
}

// track sends a track call for the contact through the events API: the
// trusted backend source names it by its user id, which an identify linked.
func (k *kithEnv) track(t *testing.T, contactID, event, messageID string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"userId": "user-" + contactID, "event": event, "messageId": messageID,
		"properties": map[string]any{"sku": "SKU-1", "name": "Blue Mug", "price": 12.5}})
	if code, e := k.postEvents(t, "/v1/track", backendWriteKey, b, false); code != 200 {
		t.Fatalf("track %s: %d %+v", event, code, e.Error)
	}
}

// identifyUser links the contact's user id (a trusted server-side identify
// with the contact's email).
func (k *kithEnv) identifyUser(t *testing.T, contactID, email string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"userId": "user-" + contactID, "traits": map[string]any{"email": email}})
	if code, e := k.postEvents(t, "/v1/identify", backendWriteKey, b, false); code != 200 {
		t.Fatalf("identify: %d %+v", code, e.Error)
	}
	eventually(t, "the user id is linked", func() bool {
		return k.count(t, `SELECT count(*) FROM identities WHERE kind = 'user' AND value = $1 AND contact_id = $2`, "user-"+contactID, contactID) == 1
	})
}

// startRelay runs the event relay (which the worker starts in production)
// until the test ends.
func (k *kithEnv) startRelay(t *testing.T) {
	t.Helper()
	id := "event-relay-" + t.Name()
	if _, err := k.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.EventRelayName, workflows.EventRelayInput{DrainFor: 3 * time.Second, Runs: 100}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Client.TerminateWorkflow(context.Background(), id, "", "test done") })
}

func (k *kithEnv) deliveries(t *testing.T, contactID string) []string {
	t.Helper()
	var out []string
	rows, err := k.Store.DB().Query(`SELECT rule || ':' || status || COALESCE(':' || reason, '') FROM deliveries WHERE contact_id = $1 ORDER BY created_at, id`, contactID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func (k *kithEnv) sentTo(contactID, template string) []espsim.Sent {
	var out []espsim.Sent
	for _, m := range k.ESP.Sent() {
		if m.Args[esp.ArgContact] == contactID && (template == "" || m.TemplateID == template) {
			out = append(out, m)
		}
	}
	return out
}

// TestTriggersEndToEnd, on the real Temporal server, PostgreSQL and the ESP
// simulator: confirming the opt-in sends the welcome; browse abandonment fires
// once after its wait with the product in the payload and only the purpose's
// fields; the ESP answering 500 and then 202 makes one accepted send; a
// contact without consent gets nothing (recorded as suppressed); withdrawing
// during the wait cancels it.
func TestTriggersEndToEnd(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	k.startRelay(t)
	ada := k.subscribe(t, "ada@example.com")
	eventually(t, "the welcome is sent", func() bool { return len(k.sentTo(ada, "welcome")) == 1 })

	k.identifyUser(t, ada, "ada@example.com")
	k.ESP.Fail(espsim.Fault{Status: 500})
	k.track(t, ada, "Product Viewed", "view-1")
	k.track(t, ada, "Product Viewed", "view-2")
	eventually(t, "browse abandonment is sent", func() bool { return len(k.sentTo(ada, "browse-abandonment")) == 1 })
	time.Sleep(4 * time.Second) // another wait's worth: nothing more may come
	msgs := k.sentTo(ada, "browse-abandonment")
	if len(msgs) != 1 {
		t.Fatalf("%d browse-abandonment messages, want 1", len(msgs))
	}
	m := msgs[0]
	events, _ := m.Data["events"].([]any)
	first, _ := events[0].(map[string]any)
	props, _ := first["properties"].(map[string]any)
	fields, _ := m.Data["contact"].(map[string]any)
	if m.To != "ada@example.com" || len(events) != 2 || props["sku"] != "SKU-1" || fields["first_name"] != "Ada" || fields["country"] != "NO" {
		t.Errorf("message to %s with %d events (%v), fields %v", m.To, len(events), props, fields)
	}
	for f := range fields {
		if !slices.Contains([]string{"email", "first_name", "country", "city"}, f) {
			t.Errorf("field %s left Kith though email_marketing does not allow it", f)
		}
	}
	if u, _ := m.Data["unsubscribe_url"].(string); u == "" {
		t.Errorf("no unsubscribe link in %v", m.Data)
	}
	if next, _ := m.Data["next_fields"].([]any); len(next) == 0 || slices.Contains(next, any("email")) {
		t.Errorf("next fields %v: want what the form asks next, not what she gave", next)
	}
	if got := k.deliveries(t, ada); !slices.Contains(got, "browse_abandonment:accepted") || len(got) != 2 {
		t.Errorf("deliveries %v, want the welcome and one accepted browse abandonment", got)
	}

	// Withdrawing during the wait cancels it.
	bob := k.subscribe(t, "bob@example.com")
	k.identifyUser(t, bob, "bob@example.com")
	k.track(t, bob, "Product Viewed", "view-b1")
	eventually(t, "the trigger is pending", func() bool {
		var v workflows.ContactView
		q, err := k.Client.QueryWorkflow(context.Background(), workflows.ContactWorkflowID(bob), "", workflows.QueryState)
		if err == nil {
			err = q.Get(&v)
		}
		return err == nil && v.Triggers != nil && len(v.Triggers.Pending) > 0 && slices.ContainsFunc(v.Triggers.Pending, func(p workflows.PendingTrigger) bool { return p.Rule == "browse_abandonment" })
	})
	if code := k.call(t, "POST", "/v1/unsubscribe?token="+k.unsubscribeToken(bob, "email_marketing"), "application/x-www-form-urlencoded",
		[]byte("List-Unsubscribe=One-Click"), nil); code != 200 {
		t.Fatalf("unsubscribe answered %d", code)
	}
	time.Sleep(5 * time.Second)
	if got := k.sentTo(bob, "browse-abandonment"); len(got) != 0 {
		t.Errorf("%d browse-abandonment messages after the withdrawal, want none", len(got))
	}

	// A contact who never consented: the decision is kept, nothing is sent.
	carol, _, err := k.Service.Resolve(context.Background(), []kith.Identity{{Kind: kith.IdentityEmail, Value: "carol@example.com"}}, kith.SourceForm)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Service.NotifyEvent(context.Background(), carol, kith.EventNotice{EventID: "web/c1", Type: "Product Viewed", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the suppressed decision is recorded", func() bool {
		return slices.Equal(k.deliveries(t, carol), []string{"browse_abandonment:suppressed:consent email_marketing not given"})
	})
	if len(k.sentTo(carol, "")) != 0 {
		t.Error("a message went to a contact without consent")
	}
	recordHistory(t, k, workflows.ContactWorkflowID(ada), "", "contact_triggers_one_marker.json")
	recordHistory(t, k, workflows.ContactWorkflowID(carol), "", "contact_trigger_suppressed.json")
}

// TestESPEventsAreVerifiedStoredOnceAndAct: a forged signature is refused and
// nothing is kept; the same signed event three times is stored once; a machine
// open is kept but flagged; a hard bounce suppresses the address and withdraws
// the contact's email consent.
func TestESPEventsAreVerifiedStoredOnceAndAct(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	ada := k.subscribe(t, "ada@example.com")
	eventually(t, "the welcome is sent", func() bool { return len(k.sentTo(ada, "welcome")) == 1 })
	m := k.sentTo(ada, "welcome")[0]
	hook := k.URL + "/v1/webhooks/esp/sendgrid"
	ctx := context.Background()

	opened := k.ESP.Events(m, time.Now(), "delivered", "open", "machine_open")
	if code, err := k.ESP.SendEvents(ctx, hook, opened, time.Now(), true); err != nil || code != 401 {
		t.Fatalf("forged signature: %d %v, want 401", code, err)
	}
	if code, err := k.ESP.SendEvents(ctx, hook, opened, time.Now().Add(-time.Hour), false); err != nil || code != 401 {
		t.Fatalf("stale timestamp: %d %v, want 401", code, err)
	}
	if n := k.count(t, `SELECT count(*) FROM events WHERE source = 'esp'`) + k.count(t, `SELECT count(*) FROM quarantine WHERE source = 'esp'`); n != 0 {
		t.Fatalf("%d rows kept from refused deliveries", n)
	}
	for range 3 {
		if code, err := k.ESP.SendEvents(ctx, hook, opened, time.Now(), false); err != nil || code != 200 {
			t.Fatalf("signed delivery: %d %v", code, err)
		}
	}
	var got []string
	rows, _ := k.Store.DB().Query(`SELECT type || ':' || machine || ':' || contact_id::text || ':' || (properties ->> 'delivery_id') FROM events WHERE source = 'esp' ORDER BY type, machine`)
	for rows.Next() {
		var s string
		rows.Scan(&s)
		got = append(got, s)
	}
	rows.Close()
	d := m.Args[esp.ArgDelivery]
	want := []string{fmt.Sprintf("Email Delivered:false:%s:%s", ada, d), fmt.Sprintf("Email Opened:false:%s:%s", ada, d), fmt.Sprintf("Email Opened:true:%s:%s", ada, d)}
	if !slices.Equal(got, want) {
		t.Errorf("stored ESP events\n got %v\nwant %v", got, want)
	}

	bounce := k.ESP.Events(m, time.Now(), "hard_bounce")
	if code, err := k.ESP.SendEvents(ctx, hook, bounce, time.Now(), false); err != nil || code != 200 {
		t.Fatalf("bounce delivery: %d %v", code, err)
	}
	if n := k.count(t, `SELECT count(*) FROM suppressions WHERE email = 'ada@example.com' AND reason = 'bounce'`); n != 1 {
		t.Errorf("%d suppressions, want the bounced address", n)
	}
	eventually(t, "the bounce withdraws email consent", func() bool {
		return k.count(t, `SELECT count(*) FROM consents WHERE contact_id = $1 AND purpose = 'email_marketing' AND status = 'withdrawn' AND source = 'esp'`, ada) == 1
	})

	// The next Cleaning archives the hard-bounced contact with that reason.
	if _, err := k.Store.ArchiveContacts(ctx, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := k.count(t, `SELECT count(*) FROM contacts_archive WHERE contact_id = $1 AND reason = 'hard_bounce'`, ada); n != 1 {
		t.Errorf("the bounced contact is not archived as hard_bounce")
	}

	bad := []byte(`[{"event": "exploded", "timestamp": 1, "sg_event_id": "x1"}]`)
	sig, ts, _ := esp.Sign(k.ESP.Key, time.Now(), bad)
	req, _ := http.NewRequest("POST", hook, bytes.NewReader(bad))
	req.Header.Set(esp.HeaderSignature, sig)
	req.Header.Set(esp.HeaderTimestamp, ts)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Quarantined int }
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 || res.Quarantined != 1 || k.count(t, `SELECT count(*) FROM quarantine WHERE source = 'esp'`) != 1 {
		t.Errorf("an unknown event: %d %+v, want it quarantined with its reasons", resp.StatusCode, res)
	}
}

// TestDeadLetterReplay: an ESP refusal puts the delivery in the dead letter;
// ops replay it once the ESP is fixed and it is sent, once.
func TestDeadLetterReplay(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	k.ESP.Fail(espsim.Fault{Status: 403})
	ada := k.subscribe(t, "ada@example.com")
	eventually(t, "the welcome goes to the dead letter", func() bool {
		return slices.Equal(k.deliveries(t, ada), []string{"welcome:failed"})
	})
	failed, err := k.Store.ListDeliveries(context.Background(), kith.DeliveryFailed, 10)
	if err != nil || len(failed) != 1 || failed[0].LastError == "" {
		t.Fatalf("dead letter %+v (%v)", failed, err)
	}
	replay := "/v1/admin/deliveries/" + failed[0].ID + "/replay"
	for _, key := range []string{"", webWriteKey} { // a write key collects; it does not administer
		if code := k.admin(t, key, "POST", replay, "", nil); code != 401 {
			t.Errorf("replay with key %q answered %d, want 401", key, code)
		}
	}
	var res kith.DeliveryOutcome
	if code := k.admin(t, adminKey, "POST", replay, "", &res); code != 200 || res.Status != kith.DeliveryAccepted {
		t.Fatalf("replay: %d %+v", code, res)
	}
	if code := k.admin(t, adminKey, "POST", replay, "", nil); code != 404 {
		t.Errorf("replaying a delivery no longer failed answered %d, want 404", code)
	}
	if n := k.count(t, `SELECT count(*) FROM audit_log WHERE actor = 'admin:ops' AND action = 'delivery_replayed' AND entity_id = $1`, ada); n != 1 {
		t.Errorf("%d audit rows for the replay, want 1", n)
	}
	if got := k.sentTo(ada, "welcome"); len(got) != 1 || !slices.Equal(k.deliveries(t, ada), []string{"welcome:accepted"}) {
		t.Errorf("%d welcome messages, deliveries %v; want one accepted", len(got), k.deliveries(t, ada))
	}
	recordHistory(t, k, workflows.RetryDeliveryID(failed[0].ID), "", "retry_delivery.json")
}
