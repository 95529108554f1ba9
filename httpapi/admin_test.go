package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/workflows"
)

// TestExportHoldsWhatKithKeepsOnAContact: a subscriber who confirmed, was
// identified, tracked and sent a welcome is exported through the admin API,
// in one document with every kind of data, and the export is audited.
func TestExportHoldsWhatKithKeepsOnAContact(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	email := "export." + uuid.NewString()[:8] + "@example.com"
	id := k.subscribe(t, email)
	k.identifyUser(t, id, email)
	k.track(t, id, "Product Viewed", "export-view-"+id)
	eventually(t, "the event is stored", func() bool {
		return k.count(t, `SELECT count(*) FROM events WHERE contact_id = $1`, id) > 0
	})
	eventually(t, "the welcome is sent", func() bool {
		return k.count(t, `SELECT count(*) FROM deliveries WHERE contact_id = $1`, id) > 0
	})

	path := "/v1/privacy/contacts/" + id + "/export"
	for _, key := range []string{"", webWriteKey, "not-a-key-0123456789"} {
		if code := k.admin(t, key, "GET", path, "", nil); code != 401 {
			t.Errorf("export with key %q answered %d, want 401", key, code)
		}
	}
	var doc map[string]json.RawMessage
	if code := k.admin(t, adminKey, "GET", path, "", &doc); code != 200 {
		t.Fatalf("export answered %d", code)
	}
	var profile struct {
		Email      string                     `json:"email"`
		Provenance map[string]kith.Provenance `json:"field_provenance"`
	}
	// Each field's provenance whole, as stored with the origin it shares.
	if err := json.Unmarshal(doc["profile"], &profile); err != nil || profile.Email != email || profile.Provenance["email"].Source == "" ||
		profile.Provenance["email"].At.IsZero() {
		t.Errorf("profile %s (%v), want the email with its provenance", doc["profile"], err)
	}
	if _, ok := profile.Provenance["_"]; ok {
		t.Errorf("the profile's provenance %s names a field \"_\"", doc["profile"])
	}
	for _, section := range []string{"identities", "consents", "events", "form_submissions", "deliveries"} {
		var rows []map[string]any
		if err := json.Unmarshal(doc[section], &rows); err != nil || len(rows) == 0 {
			t.Errorf("export section %s is %s (%v), want rows", section, doc[section], err)
		}
	}
	for _, section := range []string{"orders", "tickets", "merges", "merged_contacts", "claims", "archive", "audit_log"} {
		if _, ok := doc[section]; !ok {
			t.Errorf("export has no %s section", section)
		}
	}
	if strings.Contains(string(doc["claims"]), "token_hash") {
		t.Error("the export holds a claim's token hash")
	}
	if n := k.count(t, `SELECT count(*) FROM audit_log WHERE actor = 'admin:ops' AND action = 'export_requested' AND entity_id = $1`, id); n != 1 {
		t.Errorf("%d audit rows for the export, want 1", n)
	}
	if code := k.admin(t, adminKey, "GET", "/v1/privacy/contacts/"+uuid.NewString()+"/export", "", nil); code != 404 {
		t.Errorf("an unknown contact's export answered %d, want 404", code)
	}
}

// TestReviewDecisionsNeedAnAdminKeyAndAreAudited: the review queue through the
// admin API.
func TestReviewDecisionsNeedAnAdminKeyAndAreAudited(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	a, b := k.subscribe(t, "review.a@example.com"), k.subscribe(t, "review.b@example.com")
	if err := k.Store.QueueReview(context.Background(), []kith.ReviewPair{{A: a, B: b, Probability: 0.7}}); err != nil {
		t.Fatal(err)
	}
	var list struct{ Pairs []kith.ReviewPair }
	if code := k.admin(t, adminKey, "GET", "/v1/admin/reviews", "", &list); code != 200 || len(list.Pairs) != 1 {
		t.Fatalf("review queue: %d %+v", code, list)
	}
	decide := `{"a":"` + a + `","b":"` + b + `","decision":"keep_apart"}`
	if code := k.admin(t, backendWriteKey, "POST", "/v1/admin/reviews", decide, nil); code != 401 {
		t.Errorf("a write key's decision answered %d, want 401", code)
	}
	var bad struct {
		Error struct{ Violations kith.Violations }
	}
	if code := k.admin(t, adminKey, "POST", "/v1/admin/reviews", `{"a":"x","b":"`+b+`","decision":"maybe"}`, &bad); code != 422 || len(bad.Error.Violations) != 2 {
		t.Errorf("a bad decision: %d %+v, want 422 naming a and decision", code, bad)
	}
	if code := k.admin(t, adminKey, "POST", "/v1/admin/reviews", decide, nil); code != 200 {
		t.Fatalf("decision answered %d", code)
	}
	if n := k.count(t, `SELECT count(*) FROM audit_log WHERE actor = 'admin:ops' AND action = 'review_decided' AND entity_id IN ($1, $2)`, a, b); n != 2 {
		t.Errorf("%d audit rows for the decision, want one per contact", n)
	}
	if code := k.admin(t, adminKey, "GET", "/v1/admin/reviews", "", &list); code != 200 || len(list.Pairs) != 0 {
		t.Errorf("after the decision the queue is %d %+v", code, list)
	}
}

// TestErasingAMergedContactErasesThePerson: two records of one person merged
// after an admin's review decision; erasing the merged record's id erases the
// survivor too, in PostgreSQL and in Temporal (both contacts' workflows).
func TestErasingAMergedContactErasesThePerson(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	tag := uuid.NewString()[:8]
	emails := []string{"whole.a." + tag + "@example.com", "whole.b." + tag + "@example.com"}
	a, b := k.subscribe(t, emails[0]), k.subscribe(t, emails[1])
	if err := k.Store.QueueReview(context.Background(), []kith.ReviewPair{{A: a, B: b, Probability: 0.6}}); err != nil {
		t.Fatal(err)
	}
	if code := k.admin(t, adminKey, "POST", "/v1/admin/reviews", `{"a":"`+a+`","b":"`+b+`","decision":"merge"}`, nil); code != 200 {
		t.Fatalf("decision answered %d", code)
	}
	run, err := k.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "dedup-" + tag, TaskQueue: workflows.TaskQueue}, workflows.DeduplicateName)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var merged string
	if err := k.Store.DB().Get(&merged, `SELECT id::text FROM contacts WHERE id IN ($1, $2) AND merged_into IS NOT NULL`, a, b); err != nil {
		t.Fatalf("no merge of the reviewed pair: %v", err)
	}

	if code, r := k.erase(t, merged); code != 200 && code != 202 || r["status"] != "completed" {
		t.Fatalf("erasing the merged record: %d %v", code, r)
	}
	if found := k.rowsNaming(t, emails...); len(found) > 0 {
		t.Errorf("PostgreSQL still names the person: %v", found)
	}
	if n := k.count(t, `SELECT count(*) FROM contacts WHERE id IN ($1, $2)`, a, b); n != 0 {
		t.Errorf("%d of the person's contacts left", n)
	}
	eventually(t, "both contacts' workflows leave the Temporal file", func() bool {
		held := temporalFileHolds(t, emails...)
		if len(held) > 0 {
			t.Logf("the Temporal file holds %v", held)
		}
		return len(held) == 0
	})
	recordHistory(t, k, workflows.ErasureWorkflowID(merged), "", "erasure_whole_person.json")
}
