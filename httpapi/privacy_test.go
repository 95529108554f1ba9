package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/esp/espsim"
	"github.com/kithhq/kith/workflows"
)

// erase asks for a contact's erasure with key and waits for its receipt.
func (k *kithEnv) erase(t *testing.T, contactID string) (int, map[string]any) {
	t.Helper()
	var out map[string]any
	req, _ := http.NewRequest("POST", k.URL+"/v1/privacy/erasures", strings.NewReader(`{"contact_id":"`+contactID+`"}`))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode == 202 || resp.StatusCode == 200 {
		deadline := time.Now().Add(90 * time.Second)
		for out["status"] != "completed" && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			req, _ := http.NewRequest("GET", k.URL+"/v1/privacy/erasures/"+contactID, nil)
			req.Header.Set("Authorization", "Bearer "+adminKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out = nil
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
		}
	}
	return resp.StatusCode, out
}

// admin sends an admin request with key (none when empty) and decodes the
// JSON answer into out (when not nil).
func (k *kithEnv) admin(t *testing.T, key, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, k.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// rowsNaming counts the rows of every table in the test's database whose text
// contains one of the values (case-insensitive).
func (k *kithEnv) rowsNaming(t *testing.T, values ...string) map[string]int {
	t.Helper()
	var tables []string
	if err := k.Store.DB().Select(&tables, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`); err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for _, table := range tables {
		for _, v := range values {
			if n := k.count(t, fmt.Sprintf(`SELECT count(*) FROM %q x WHERE lower(x::text) LIKE '%%' || lower($1) || '%%'`, table), v); n > 0 {
				found[table+" ("+v+")"] += n
			}
		}
	}
	return found
}

// TestErasureRemovesThePersonEverywhere: a person who filled a form, was
// identified and tracked, and a CRM contact, are erased through the admin API.
// After it, no row in PostgreSQL and nothing in the Temporal dev server's file
// holds their email, phone or names; coming back by a form, an identify call,
// an import or a CRM sync is refused and counted; asking again is a no-op.
func TestErasureRemovesThePersonEverywhere(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	k.startRelay(t)
	ctx := context.Background()
	tag := fmt.Sprintf("%06d", rand.IntN(1_000_000))
	letters := strings.Map(func(r rune) rune { return 'a' + (r - '0') }, tag) // names have no digits
	email, first, last := "erase.me."+tag+"@example.com", "Zebulon"+letters, "Quillfeather"+letters
	phone := "+4741" + tag
	anon := "anon-erase-" + tag

	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{
		"submission_id": "erase-sub-" + tag, "anonymous_id": anon, "consents": consentsGiven,
		"fields": map[string]string{"email": email, "phone": phone, "first_name": first, "last_name": last},
	}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	id := res.ContactID
	k.identifyUser(t, id, email)
	k.track(t, id, "Product Viewed", "erase-view-"+tag)
	eventually(t, "the event reached the contact", func() bool {
		return k.count(t, `SELECT count(*) FROM events WHERE contact_id = $1 AND type = 'Product Viewed'`, id) == 1
	})
	if found := k.rowsNaming(t, email, last); len(found) == 0 {
		t.Fatal("the person is not in PostgreSQL before the erasure: the check below would prove nothing")
	}

	// A CRM contact, synced with a deal.
	deal := k.Sim.Objects("deals")[0]
	ev := nextEvent()
	if code := k.deliver(t, "hubspot", []crmsim.Event{{EventID: ev, SubscriptionType: "deal.creation", ObjectID: deal}}, time.Now(), false); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	synced, err := k.syncResult(t, "hubspot", ev)
	if err != nil || len(synced.ContactIDs) != 1 {
		t.Fatalf("sync: %+v, %v", synced, err)
	}
	crmContact, err := k.Store.Contact(ctx, synced.ContactIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	crmEmail := crmContact.Fields[kith.FieldEmail].Value

	// The raw lake holds what they sent (the form, the identify, the CRM
	// contact as fetched) before the erasure.
	k.archiveLake(t, 0)
	if held := k.lakeHolds(t, email, crmEmail); len(held) < 2 {
		t.Fatalf("the lake holds %v before the erasure: the check below would prove nothing", held)
	}

	// Without an admin key: 401, nothing starts.
	req, _ := http.NewRequest("POST", k.URL+"/v1/privacy/erasures", strings.NewReader(`{"contact_id":"`+id+`"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("no key: %v %v, want 401", resp.StatusCode, err)
	}
	if code, _ := k.erase(t, uuid.NewString()); code != 404 {
		t.Errorf("erasing an unknown contact answered %d, want 404", code)
	}

	code, receipt := k.erase(t, id)
	if code != 202 && code != 200 || receipt["status"] != "completed" {
		t.Fatalf("erasure answered %d, receipt %v", code, receipt)
	}
	stores := map[string]bool{}
	for _, s := range receipt["steps"].([]any) {
		stores[s.(map[string]any)["store"].(string)] = true
	}
	for _, s := range []string{kith.ErasureStorePostgres, kith.ErasureStoreBigQuery, kith.ErasureStoreTemporal, kith.ErasureStoreLake} {
		if !stores[s] {
			t.Errorf("the receipt has no %s step: %v", s, receipt)
		}
	}
	if b, _ := json.Marshal(receipt); bytes.Contains(b, []byte(email)) || bytes.Contains(b, []byte(last)) {
		t.Errorf("the receipt names the person: %s", b)
	}
	if code, _ := k.erase(t, synced.ContactIDs[0]); code != 200 && code != 202 {
		t.Fatalf("erasing the CRM contact answered %d", code)
	}

	if found := k.rowsNaming(t, email, first, last, strings.TrimPrefix(phone, "+"), crmEmail); len(found) > 0 {
		t.Errorf("PostgreSQL still names them: %v", found)
	}
	eventually(t, "the Temporal dev server's file holds nothing of the person", func() bool {
		held := temporalFileHolds(t, email, first, last, strings.TrimPrefix(phone, "+"))
		if len(held) > 0 {
			t.Logf("the Temporal file holds %v", held)
		}
		return len(held) == 0
	})

	// Coming back by every path is refused, and counted by path.
	var back map[string]any
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{
		"submission_id": "erase-again-" + tag, "consents": consentsGiven, "fields": map[string]string{"email": email},
	}, &back); code != 202 || back["status"] != "not_stored" {
		t.Errorf("a form with the erased email answered %d %v, want 202 not_stored", code, back)
	}
	b, _ := json.Marshal(map[string]any{"anonymousId": "anon-back-" + tag, "messageId": "erase-identify-" + tag, "traits": map[string]any{"email": email}})
	if code, e := k.postEvents(t, "/v1/identify", webWriteKey, b, false); code != 200 {
		t.Errorf("identify answered %d %+v", code, e.Error)
	}
	if up, err := k.Store.UpsertContacts(ctx, []kith.ContactInput{{Fields: map[kith.Field]kith.Value{kith.FieldEmail: {Value: email}}}}); err != nil || up.Refused != 1 || up.Created != 0 {
		t.Errorf("an import of the erased email: %+v, %v; want it refused", up, err)
	}
	again := nextEvent()
	if code := k.deliver(t, "hubspot", []crmsim.Event{{EventID: again, SubscriptionType: "deal.creation", ObjectID: deal}}, time.Now(), false); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	if resynced, err := k.syncResult(t, "hubspot", again); err != nil || len(resynced.ContactIDs) != 0 {
		t.Errorf("a CRM sync of the erased contact: %+v, %v; want no contact stored", resynced, err)
	}
	// The ESP's late events about a message sent before the erasure: an open
	// and a hard bounce, neither stored nor suppressing the address again.
	late := espsim.Sent{MessageID: "late-" + tag, To: email, Args: map[string]string{esp.ArgContact: id, esp.ArgDelivery: "welcome-" + tag, esp.ArgPurpose: "email_marketing"}}
	if code, err := k.ESP.SendEvents(ctx, k.URL+"/v1/webhooks/esp/sendgrid", k.ESP.Events(late, time.Now(), "open", "hard_bounce"), time.Now(), false); err != nil || code != 200 {
		t.Errorf("the ESP's events about the erased person: %d %v; want 200 (refused, not stored)", code, err)
	}
	if n := k.count(t, `SELECT count(*) FROM events WHERE contact_id = $1 OR properties->>'delivery_id' = $2`, id, "welcome-"+tag); n != 0 {
		t.Errorf("%d of the ESP's events about the erased person stored", n)
	}
	if found := k.rowsNaming(t, email, crmEmail); len(found) > 0 {
		t.Errorf("after the attempts to come back, PostgreSQL names them: %v", found)
	}
	// Nor does the lake, after the attempts to come back were archived too.
	k.archiveLake(t, 0)
	if held := k.lakeHolds(t, email, first, last, crmEmail, anon, "user-"+id); len(held) > 0 {
		t.Errorf("the lake still names them: %v", held)
	}
	for _, s := range receipt["steps"].([]any) {
		if step := s.(map[string]any); step["store"] == kith.ErasureStoreLake {
			if removed, _ := step["removed"].(map[string]any)["lines"].(float64); removed < 3 {
				t.Errorf("the lake step removed %v lines, want the form, the identify and the track call at least: %v", removed, step)
			}
		}
	}
	var byPath map[string]int
	var raw []byte
	if err := k.Store.DB().Get(&raw, `SELECT jsonb_object_agg(path, n)::text::bytea FROM (SELECT p AS path, sum(v::int) AS n
		FROM erased_identities, jsonb_each_text(refused_by) AS r(p, v) GROUP BY p) x`); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &byPath)
	for _, path := range []string{"form", "identify", "import", "crm", "esp"} {
		if byPath[path] < 1 {
			t.Errorf("refusals by path %v: none counted for %s", byPath, path)
		}
	}

	// Asked again: the same receipt, nothing done.
	code, second := k.erase(t, id)
	if code != 200 || second["completed_at"] != receipt["completed_at"] {
		t.Errorf("a second erasure answered %d %v, want 200 and the first receipt (%v)", code, second["completed_at"], receipt["completed_at"])
	}
	recordHistory(t, k, workflows.ErasureWorkflowID(id), "", "erasure_lake.json")
}
