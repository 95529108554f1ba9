package httpapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/workflows"
)

// storedKeys are a contact's rows in the blocking-key table, sorted.
func storedKeys(t *testing.T, k *kithEnv, contactID string) []int64 {
	t.Helper()
	var keys []int64
	if err := k.Store.DB().Select(&keys, `SELECT key FROM contact_keys WHERE contact_id = $1 ORDER BY key`, contactID); err != nil {
		t.Fatal(err)
	}
	return keys
}

// profileKeys are the blocking keys the contact's stored profile gives.
func profileKeys(t *testing.T, k *kithEnv, contactID string) []int64 {
	t.Helper()
	c, err := k.Store.Contact(t.Context(), contactID)
	if err != nil {
		t.Fatal(err)
	}
	r := dedup.RecordOf(c.ID, "", c.CreatedAt, c.UpdatedAt, c.Get)
	return dedup.BlockingKeys(&r)
}

func TestKnownPersonWithANewEmailLandsInTheirContact(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	run := uuid.NewString()[:8]
	laptop, phone := "anon-laptop-"+run, "anon-phone-"+run
	known := map[string]any{"submission_id": "known-" + run, "anonymous_id": laptop, "fields": map[string]string{
		"email": "ada.lovelace@example.com", "phone": "+47 412 34 567", "first_name": "Ada", "last_name": "Lovelace",
		"birth_date": "1990-12-10", "postal_code": "0150", "city": "Oslo", "address": "Storgata 1", "country": "Norway",
	}, "consents": map[string]any{"personalization": map[string]any{"granted": true, "text_version": "2026-11-01"}}}
	var first struct {
		submitResponse
		errorResponse
	}
	if code := k.postJSON(t, "/v1/forms/profile/submissions", known, &first); code != 200 {
		t.Fatalf("first submission answered %d: %+v", code, first)
	}
	survivor := first.ContactID
	survivorKeys := storedKeys(t, k, survivor) // the undo gives these back

	// Months later, from her phone's browser, with the address she uses now:
	// the same name, phone and birth date, a new email.
	again := map[string]any{"submission_id": "again-" + run, "anonymous_id": phone, "fields": map[string]string{
		"email": "ada@newmail.example", "phone": "+47 41 23 45 67", "first_name": "ada", "last_name": "LOVELACE", "birth_date": "10.12.1990",
		"city": "Bergen", "country": "Norway",
	}, "consents": consentsGiven}
	var second map[string]any
	if code := k.postJSON(t, "/v1/forms/profile/submissions", again, &second); code != 200 {
		t.Fatalf("second submission answered %d: %v", code, second)
	}
	newcomer, _ := second["contact_id"].(string)

	// Once the submission has returned: one person, one active contact.
	if n := k.count(t, `SELECT count(*) FROM contacts WHERE status = 'active'`); n != 1 {
		t.Fatalf("%d active contacts after the submission returned, want 1", n)
	}
	var status, into string
	if err := k.Store.DB().QueryRow(`SELECT status, coalesce(merged_into::text, '') FROM contacts WHERE id = $1`, newcomer).Scan(&status, &into); err != nil {
		t.Fatal(err)
	}
	if status != "merged" || into != survivor {
		t.Fatalf("the new submission's contact is %s into %q, want merged into %s", status, into, survivor)
	}
	var mergeID int64
	var actor string
	if err := k.Store.DB().QueryRow(`SELECT id, actor FROM merges WHERE merged_id = $1 AND survivor_id = $2 AND undone_at IS NULL`, newcomer, survivor).
		Scan(&mergeID, &actor); err != nil {
		t.Fatalf("no merge record: %v", err)
	}
	if actor != "match-on-write" {
		t.Errorf("merge recorded by %q", actor)
	}
	// The answers were nobody's proof of who typed them: the survivor keeps its
	// email, the new one reaches it as an identity, and the browser that typed
	// them is not the survivor's.
	var email, addr, city string
	k.Store.DB().QueryRow(`SELECT email, address, city FROM contacts WHERE id = $1`, survivor).Scan(&email, &addr, &city)
	if email != "ada.lovelace@example.com" || addr != "Storgata 1" || city != "Oslo" {
		t.Errorf("survivor's email %q, address %q, city %q: want all kept", email, addr, city)
	}
	owner := func(kind, value string) string {
		var id string
		k.Store.DB().Get(&id, `SELECT contact_id::text FROM identities WHERE kind = $1 AND value = $2`, kind, value)
		return id
	}
	if got := owner("email", "ada@newmail.example"); got != survivor {
		t.Errorf("the new email belongs to %q, want the survivor", got)
	}
	if got := owner("anonymous", phone); got != newcomer {
		t.Errorf("the phone's browser belongs to %q, want the merged contact it typed into", got)
	}
	// The answer to the submitter tells nothing of the contact it joined.
	body, _ := json.Marshal(second)
	for _, secret := range []string{survivor, "ada.lovelace@example.com", "Storgata", "0150"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("the submission's answer shows %q: %s", secret, body)
		}
	}
	if keys := storedKeys(t, k, newcomer); len(keys) != 0 {
		t.Errorf("the merged contact keeps %d blocking keys", len(keys))
	}
	// The survivor's workflow took over the submission's double opt-in, and
	// the merged one points at it.
	eventually(t, "the survivor runs the opt-in", func() bool {
		v := queryContact(t, k, survivor)
		return v.Consents["email_marketing"].Status == kith.ConsentPending && v.Pending["email_marketing"].Token != ""
	})
	if v := queryContact(t, k, newcomer); v.MergedInto != survivor || len(v.Pending) != 0 {
		t.Errorf("merged contact's workflow: merged into %q, pending %v", v.MergedInto, v.Pending)
	}
	// While merged the survivor holds the merged contact's keys too.
	if merged := storedKeys(t, k, survivor); len(merged) <= len(survivorKeys) {
		t.Errorf("survivor's keys while merged %v, before %v: want the merged contact's added", merged, survivorKeys)
	}

	// A person undoes it: both contacts and the key table come back.
	var undone kith.Unmerged
	if code := k.admin(t, adminKey, "POST", fmt.Sprintf("/v1/admin/merges/%d/undo", mergeID), "", &undone); code != 200 {
		t.Fatalf("undo answered %d", code)
	}
	if undone.SurvivorID != survivor || undone.MergedID != newcomer {
		t.Errorf("undo answered %+v", undone)
	}
	if n := k.count(t, `SELECT count(*) FROM contacts WHERE status = 'active' AND id = ANY($1::uuid[])`, pq.Array([]string{survivor, newcomer})); n != 2 {
		t.Fatalf("%d of the two contacts active after the undo", n)
	}
	if got, want := storedKeys(t, k, newcomer), profileKeys(t, k, newcomer); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("unmerged contact's keys %v, want its profile's %v", got, want)
	}
	if got := storedKeys(t, k, survivor); !slices.Equal(got, survivorKeys) {
		t.Errorf("survivor's keys %v after the undo, %v before the merge", got, survivorKeys)
	}
	if got := owner("email", "ada@newmail.example"); got != newcomer {
		t.Errorf("after the undo the new email belongs to %q", got)
	}
	eventually(t, "the unmerged contact's workflow is its own again", func() bool {
		view, err := tryQueryContact(k, newcomer)
		return err == nil && view.MergedInto == ""
	})

	// The undo is a decision: the same answers again do not merge them.
	again["submission_id"] = "again-2-" + run
	if code := k.postJSON(t, "/v1/forms/profile/submissions", again, nil); code != 200 {
		t.Fatalf("third submission answered %d", code)
	}
	if n := k.count(t, `SELECT count(*) FROM merges WHERE undone_at IS NULL`); n != 0 {
		t.Errorf("%d merges in force after the pair was kept apart", n)
	}
	recordHistory(t, k, workflows.ContactWorkflowID(newcomer), "", "contact_match_on_write.json")
	recordHistory(t, k, workflows.ContactWorkflowID(survivor), "", "contact_match_survivor.json")
}
