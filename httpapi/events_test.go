package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/workflows"
)

// postEvents sends an events API request; auth is a write key for Basic auth
// ("" for none).
func (k *kithEnv) postEvents(t *testing.T, path, auth string, body []byte, gz bool) (int, errorResponse) {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	req, _ := http.NewRequest("POST", k.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if auth != "" {
		req.SetBasicAuth(auth, "")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e errorResponse
	json.Unmarshal(raw, &e)
	if resp.StatusCode == 200 && !strings.Contains(string(raw), `"success":true`) {
		t.Errorf("200 without success: %s", raw)
	}
	return resp.StatusCode, e
}

// TestEventsAPIStoresEachMessageOnce: a gzipped batch of Segment-spec messages
// is stored with its ids, names, properties and clock-corrected timestamps; the
// same batch again stores nothing new; the body's writeKey works like Basic auth.
func TestEventsAPIStoresEachMessageOnce(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	sent := time.Date(2026, 12, 2, 12, 0, 10, 0, time.UTC)    // the sender's clock when it sent
	happened := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) // and when the event happened, by that clock
	batch := map[string]any{"sentAt": sent, "batch": []map[string]any{
		{"type": "page", "messageId": "m-page-1", "anonymousId": "anon-ev-1", "name": "Pricing", "timestamp": happened,
			"properties": map[string]any{"url": "https://shop.example/pricing"}, "context": map[string]any{"userAgent": "test"}},
		{"type": "track", "messageId": "m-track-1", "anonymousId": "anon-ev-1", "event": "Product Viewed", "timestamp": happened,
			"properties": map[string]any{"sku": "A-1", "price": 12.5}},
		{"type": "screen", "messageId": "m-screen-1", "userId": 42, "name": "Home"},
	}}
	body, _ := json.Marshal(batch)
	before := time.Now()
	for i := range 2 {
		if code, e := k.postEvents(t, "/v1/batch", webWriteKey, body, true); code != 200 {
			t.Fatalf("delivery %d: %d %+v", i+1, code, e.Error)
		}
	}
	after := time.Now()
	if n := k.count(t, `SELECT count(*) FROM events WHERE write_source = 'web'`); n != 3 {
		t.Errorf("%d events stored, want 3 (the redelivery stores nothing)", n)
	}
	var row struct {
		Type, Call, Message, Props string
		At                         time.Time
	}
	if err := k.Store.DB().QueryRow(`SELECT type, call, message_id, properties::text, occurred_at FROM events WHERE event_id = 'web/m-track-1'`).
		Scan(&row.Type, &row.Call, &row.Message, &row.Props, &row.At); err != nil {
		t.Fatal(err)
	}
	// timestamp = receivedAt − (sentAt − timestamp): 10 s before it was received.
	if row.Type != "Product Viewed" || row.Call != "track" || !strings.Contains(row.Props, `"sku": "A-1"`) ||
		row.At.Before(before.Add(-10*time.Second-time.Second)) || row.At.After(after.Add(-10*time.Second)) {
		t.Errorf("stored %+v; want the track event, its properties and a time 10 s before it was received", row)
	}
	var user, page string
	k.Store.DB().QueryRow(`SELECT user_id FROM events WHERE event_id = 'web/m-screen-1'`).Scan(&user)
	k.Store.DB().QueryRow(`SELECT properties->>'name' FROM events WHERE event_id = 'web/m-page-1'`).Scan(&page)
	if user != "42" || page != "Pricing" {
		t.Errorf("numeric userId stored as %q, page name %q", user, page)
	}
	// Only the real-time type reaches the contact's workflow's outbox.
	if n := k.count(t, `SELECT count(*) FROM event_outbox`); n != 1 {
		t.Errorf("%d events queued for contacts, want the one Product Viewed", n)
	}
	// The write key in the body (older analytics-node versions).
	one, _ := json.Marshal(map[string]any{"writeKey": webWriteKey, "anonymousId": "anon-ev-2", "event": "Signed Up", "messageId": "m-body-key"})
	if code, e := k.postEvents(t, "/v1/track", "", one, false); code != 200 {
		t.Errorf("writeKey in the body: %d %+v", code, e.Error)
	}
}

// TestEventsAPIRefusesBadInputPrecisely: each mistake gets its status and the
// field at fault, and nothing of a refused request is stored.
func TestEventsAPIRefusesBadInputPrecisely(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	msg := func(m map[string]any) []byte { b, _ := json.Marshal(m); return b }
	big := msg(map[string]any{"anonymousId": "a-1", "event": "Big", "properties": map[string]any{"x": strings.Repeat("a", 33<<10)}})
	many := make([]map[string]any, 2501)
	for i := range many {
		many[i] = map[string]any{"type": "track", "anonymousId": "a", "event": "E"}
	}
	for _, tc := range []struct {
		name, path, key string
		body            []byte
		status          int
		field           string
	}{
		{"no write key", "/v1/track", "", msg(map[string]any{"anonymousId": "a-1", "event": "E"}), 401, ""},
		{"unknown write key", "/v1/track", "not-a-key-at-all-00", msg(map[string]any{"anonymousId": "a-1", "event": "E"}), 401, ""},
		{"no ids", "/v1/track", webWriteKey, msg(map[string]any{"event": "E"}), 400, "message.userId"},
		{"no event name", "/v1/track", webWriteKey, msg(map[string]any{"anonymousId": "a-1"}), 400, "message.event"},
		{"properties not an object", "/v1/track", webWriteKey, msg(map[string]any{"anonymousId": "a-1", "event": "E", "properties": []int{1}}), 400, "message.properties"},
		{"userId of the wrong type", "/v1/identify", webWriteKey, msg(map[string]any{"userId": map[string]any{}}), 400, "message.userId"},
		{"messageId too long", "/v1/track", webWriteKey, msg(map[string]any{"anonymousId": "a-1", "event": "E", "messageId": strings.Repeat("m", 101)}), 400, "message.messageId"},
		{"unknown type in a batch", "/v1/batch", webWriteKey, msg(map[string]any{"batch": []map[string]any{{"type": "purchase", "anonymousId": "a"}}}), 400, "batch.0.type"},
		{"invalid JSON", "/v1/track", webWriteKey, []byte(`{"anonymousId":`), 400, ""},
		{"a NUL in a property", "/v1/track", webWriteKey, []byte(`{"anonymousId":"a","event":"E","properties":{"x":"\u0000"}}`), 400, "properties.x"},
		{"message over 32 KB", "/v1/track", webWriteKey, big, 413, ""},
		{"batch of 2,501", "/v1/batch", webWriteKey, msg(map[string]any{"batch": many}), 413, ""},
		{"a message over 32 KB in a batch", "/v1/batch", webWriteKey, []byte(`{"batch":[{"type":"track","anonymousId":"a","event":"E"},` + string(big) + `]}`), 400, "batch.1"},
		{"messageId of the wrong type in a batch", "/v1/batch", webWriteKey, []byte(`{"batch":[{"type":"track","anonymousId":"a","event":"E"},{"type":"track","anonymousId":"a","event":"E","messageId":5}]}`), 400, "batch.1"},
		{"a batch that is not an array", "/v1/batch", webWriteKey, []byte(`{"batch":{"type":"track"}}`), 400, ""},
		{"an empty batch", "/v1/batch", webWriteKey, []byte(`{"batch":[]}`), 400, "batch"},
		{"a batch cut short", "/v1/batch", webWriteKey, []byte(`{"batch":[{"type":"track","anonymousId":"a","event":"E"},{"type":`), 400, ""},
		{"data after the batch", "/v1/batch", webWriteKey, []byte(`{"batch":[{"type":"track","anonymousId":"a","event":"E"}]} {}`), 400, ""},
		{"a body that is not an object", "/v1/batch", webWriteKey, []byte(`[{"type":"track","anonymousId":"a","event":"E"}]`), 400, ""},
		{"sentAt of the wrong type", "/v1/batch", webWriteKey, []byte(`{"sentAt":5,"batch":[{"type":"track","anonymousId":"a","event":"E"}]}`), 400, ""},
		{"a timestamp that is not a time", "/v1/batch", webWriteKey, []byte(`{"batch":[{"type":"track","anonymousId":"a","event":"E","timestamp":"yesterday"}]}`), 400, "batch.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, e := k.postEvents(t, tc.path, tc.key, tc.body, false)
			if code != tc.status {
				t.Fatalf("answered %d %+v, want %d", code, e.Error, tc.status)
			}
			if tc.field != "" && !hasViolation(e.Error.Violations, tc.field) {
				t.Errorf("violations %+v, want one on %s", e.Error.Violations, tc.field)
			}
		})
	}
	if n := k.count(t, `SELECT count(*) FROM events`); n != 0 {
		t.Errorf("%d events stored from refused requests", n)
	}
}

// TestIdentifyStitchesOnlyWhatItMay: a trusted server source's identify links
// the anonymous id to the contact of the email and applies the traits with the
// tracker's provenance; a browser source's identify naming that same known
// email is a claim: nothing changes and the browser is not linked.
func TestIdentifyStitchesOnlyWhatItMay(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "ident-sub-1",
		"fields": map[string]string{"email": "known@example.com", "first_name": "Known"}, "consents": consentsGiven}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	track := func(key, anon, typ string, extra map[string]any) {
		m := map[string]any{"anonymousId": anon, "messageId": anon + "-" + typ}
		for k, v := range extra {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		if code, e := k.postEvents(t, "/v1/"+typ, key, b, false); code != 200 {
			t.Fatalf("%s: %d %+v", typ, code, e.Error)
		}
	}
	owner := func(anon string) string {
		var id string
		k.Store.DB().QueryRow(`SELECT contact_id::text FROM identities WHERE kind = 'anonymous' AND value = $1`, anon).Scan(&id)
		return id
	}
	track(webWriteKey, "anon-browser-1", "page", nil)
	track(webWriteKey, "anon-browser-1", "identify", map[string]any{"traits": map[string]any{"email": "Known@Example.com", "firstName": "Mallory"}})
	if id := owner("anon-browser-1"); id != "" {
		t.Errorf("a browser's identify of a known email linked it to %s", id)
	}
	var first string
	k.Store.DB().QueryRow(`SELECT first_name FROM contacts WHERE id = $1`, res.ContactID).Scan(&first)
	if first != "Known" {
		t.Errorf("a browser's identify changed the first name to %q", first)
	}
	if n := k.count(t, `SELECT count(*) FROM claims WHERE contact_id = $1`, res.ContactID); n != 1 {
		t.Errorf("%d claims held, want 1", n)
	}

	track(backendWriteKey, "anon-server-1", "page", nil)
	track(backendWriteKey, "anon-server-1", "identify", map[string]any{"userId": "u-known", "traits": map[string]any{"email": "known@example.com", "lastName": "Person"}})
	if id := owner("anon-server-1"); id != res.ContactID {
		t.Errorf("a trusted identify linked the anonymous id to %q, want %s", id, res.ContactID)
	}
	c, err := k.Store.Contact(context.Background(), res.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	last, p := c.Get(kith.FieldLastName), c.Fields[kith.FieldLastName].Provenance
	if last != "Person" || p.Source != kith.SourceTracker {
		t.Errorf("last name %q from %q; want Person from the tracker", last, p.Source)
	}
	// The earlier anonymous page view joined the contact.
	if n := k.count(t, `SELECT count(*) FROM events WHERE anonymous_id = 'anon-server-1' AND contact_id = $1`, res.ContactID); n != 2 {
		t.Errorf("%d of the server visitor's events belong to the contact, want 2", n)
	}
	// The identify's userId is now the contact's: events that carry only it belong to the contact.
	b, _ := json.Marshal(map[string]any{"userId": "u-known", "event": "Order Completed", "messageId": "by-user-1"})
	if code, e := k.postEvents(t, "/v1/track", backendWriteKey, b, false); code != 200 {
		t.Fatalf("track by userId: %d %+v", code, e.Error)
	}
	if n := k.count(t, `SELECT count(*) FROM events WHERE event_id = 'backend/by-user-1' AND contact_id = $1`, res.ContactID); n != 1 {
		t.Errorf("an event with only the userId does not belong to the contact")
	}
	// alias: from a browser it proves nothing; from the trusted server it joins
	// the previous anonymous visitor (and its events) to the user's contact.
	track(webWriteKey, "anon-alias-1", "page", nil)
	aliasMsg := func(key, id string) {
		b, _ := json.Marshal(map[string]any{"previousId": "anon-alias-1", "userId": "u-known", "messageId": id})
		if code, e := k.postEvents(t, "/v1/alias", key, b, false); code != 200 {
			t.Fatalf("alias: %d %+v", code, e.Error)
		}
	}
	aliasMsg(webWriteKey, "alias-web-1")
	if id := owner("anon-alias-1"); id != "" {
		t.Errorf("a browser's alias linked the visitor to %s", id)
	}
	aliasMsg(backendWriteKey, "alias-backend-1")
	if id := owner("anon-alias-1"); id != res.ContactID {
		t.Errorf("a trusted alias linked the visitor to %q, want %s", id, res.ContactID)
	}
	if n := k.count(t, `SELECT count(*) FROM events WHERE anonymous_id = 'anon-alias-1' AND contact_id = $1`, res.ContactID); n != 1 {
		t.Errorf("the aliased visitor's page view does not belong to the contact")
	}
}

// TestRealtimeEventsReachTheContactOnce: a Product Viewed of a known visitor
// reaches the contact's workflow within seconds through the outbox and the
// EventRelay; a page view is not signalled; an event relayed twice (a relay
// that died between signal and delete) counts once.
func TestRealtimeEventsReachTheContactOnce(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "relay-sub-1", "anonymous_id": "anon-relay-1",
		"fields": map[string]string{"email": "relay@example.com"}, "consents": consentsGiven}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	ctx := context.Background()
	relayID := "event-relay-" + t.Name()
	run, err := k.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: relayID, TaskQueue: workflows.TaskQueue},
		workflows.EventRelayName, workflows.EventRelayInput{DrainFor: 3 * time.Second, Runs: 100})
	if err != nil {
		t.Fatal(err)
	}
	send := func(typ, id string) {
		b, _ := json.Marshal(map[string]any{"type": "track", "anonymousId": "anon-relay-1", "event": typ, "messageId": id})
		if typ == "page" {
			b, _ = json.Marshal(map[string]any{"anonymousId": "anon-relay-1", "name": "Home", "messageId": id})
		}
		path := map[bool]string{true: "/v1/page", false: "/v1/track"}[typ == "page"]
		if code, e := k.postEvents(t, path, webWriteKey, b, false); code != 200 {
			t.Fatalf("%s: %d %+v", typ, code, e.Error)
		}
	}
	sentAt := time.Now()
	send("page", "relay-page-1")
	send("Product Viewed", "relay-view-1")
	eventually(t, "the Product Viewed to reach the contact", func() bool {
		view, err := tryQueryContact(k, res.ContactID)
		return err == nil && view.Events >= 1
	})
	t.Logf("event reached the contact's workflow in %s", time.Since(sentAt).Round(time.Millisecond))
	// The relay dies after signalling, before deleting: the row comes back.
	if _, err := k.Store.DB().Exec(`INSERT INTO event_outbox (event_id, contact_id, type, occurred_at) VALUES ('web/relay-view-1', $1, 'Product Viewed', now())`, res.ContactID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the repeat to be relayed", func() bool { return k.count(t, `SELECT count(*) FROM event_outbox`) == 0 })
	time.Sleep(500 * time.Millisecond)
	if v := queryContact(t, k, res.ContactID); v.Events != 1 || len(v.SeenEvents) != 1 || v.SeenEvents[0] != "web/relay-view-1" {
		t.Errorf("the contact counted %d events (seen %v); want the one Product Viewed once", v.Events, v.SeenEvents)
	}
	if err := k.Client.TerminateWorkflow(ctx, relayID, "", "test done"); err != nil {
		t.Fatal(err)
	}
	recordHistory(t, k, relayID, run.GetRunID(), "event_relay.json")
	recordHistory(t, k, workflows.ContactWorkflowID(res.ContactID), "", "contact_event_relayed_twice.json")
}
