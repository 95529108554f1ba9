package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/workflows"
)

type nextResponse struct {
	ContactID string `json:"contact_id"`
	kith.NextStep
}

type submitResponse struct {
	ContactID    string                        `json:"contact_id"`
	Completeness int                           `json:"completeness"`
	Stage        string                        `json:"stage"`
	Consents     map[string]kith.ConsentStatus `json:"consents"`
	Next         kith.NextStep                 `json:"next"`
}

type errorResponse struct {
	Error struct {
		Code       string          `json:"code"`
		Message    string          `json:"message"`
		Violations kith.Violations `json:"violations"`
	} `json:"error"`
}

func asked(n kith.NextStep) []string {
	var out []string
	for _, s := range n.Steps {
		for _, f := range s.Fields {
			out = append(out, string(f.Field))
		}
	}
	return out
}

var answers = map[string]string{
	"email": " Ada.Lovelace@Example.com ", "phone": "+47 412 34 567", "birth_date": "10.12.1990",
	"first_name": "ada", "last_name": "LOVELACE", "country": "Norway", "city": "oslo", "postal_code": "0150",
	"address": "storgata 1",
}

var consentsGiven = map[string]any{
	"personalization": map[string]any{"granted": true, "text_version": "2026-11-01"},
	"email_marketing": map[string]any{"granted": true, "text_version": "2026-11-01"},
}

func TestProgressiveProfileOverThreeVisits(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	anon := "anon-" + uuid.NewString()
	known := map[string]bool{}
	var contactID string
	var subs []string
	for visit := 1; visit <= 3; visit++ {
		var next nextResponse
		if code := k.call(t, "GET", "/v1/forms/profile/next?anonymous_id="+anon, "", nil, &next); code != 200 {
			t.Fatalf("visit %d: next answered %d", visit, code)
		}
		fields := asked(next.NextStep)
		if len(fields) == 0 || next.Complete {
			t.Fatalf("visit %d: nothing asked", visit)
		}
		body := map[string]any{"submission_id": fmt.Sprintf("visit-%d-%s", visit, anon), "anonymous_id": anon, "fields": map[string]string{}}
		subs = append(subs, body["submission_id"].(string))
		for _, f := range fields {
			if known[f] {
				t.Errorf("visit %d asked %s again", visit, f)
			}
			body["fields"].(map[string]string)[f] = answers[f]
		}
		if visit == 1 {
			body["consents"] = consentsGiven
		}
		var res submitResponse
		if code := k.postJSON(t, "/v1/forms/profile/submissions", body, &res); code != 200 {
			t.Fatalf("visit %d: submission answered %d", visit, code)
		}
		if contactID != "" && res.ContactID != contactID {
			t.Fatalf("visit %d: contact %s, earlier %s", visit, res.ContactID, contactID)
		}
		contactID = res.ContactID
		for _, f := range fields {
			known[f] = true
		}
		t.Logf("visit %d asked %v; completeness now %d", visit, fields, res.Completeness)
	}
	var last nextResponse
	k.call(t, "GET", "/v1/forms/profile/next?anonymous_id="+anon, "", nil, &last)
	if !last.Complete || len(asked(last.NextStep)) != 0 || len(known) != 9 {
		t.Errorf("after three visits: complete %v, still asking %v, %d fields known", last.Complete, asked(last.NextStep), len(known))
	}

	var row struct {
		Email, Phone, PhoneType, First, Last, Birth, Country, City, Postal, Address string
		CountryImputed                                                              bool
	}
	if err := k.Store.DB().QueryRow(`SELECT email, phone, phone_type, first_name, last_name, birth_date::text, country, city, postal_code, address,
		coalesce((field_provenance->'country'->>'imputed')::boolean, false)
		FROM contacts WHERE id = $1`, contactID).Scan(&row.Email, &row.Phone, &row.PhoneType, &row.First, &row.Last, &row.Birth, &row.Country, &row.City,
		&row.Postal, &row.Address, &row.CountryImputed); err != nil {
		t.Fatal(err)
	}
	// The country her phone implied was asked once, and her answer confirmed it:
	// no longer imputed.
	want := struct {
		Email, Phone, PhoneType, First, Last, Birth, Country, City, Postal, Address string
		CountryImputed                                                              bool
	}{"ada.lovelace@example.com", "+4741234567", "mobile", "Ada", "Lovelace", "1990-12-10", "NO", "Oslo", "0150", "Storgata 1", false}
	if row != want {
		t.Errorf("contact row\n got %+v\nwant %+v", row, want)
	}
	if n := k.count(t, `SELECT count(*) FROM contacts`); n != 1 {
		t.Errorf("%d contacts, want 1", n)
	}
	if n := k.count(t, `SELECT count(*) FROM form_submissions WHERE contact_id = $1`, contactID); n != 3 {
		t.Errorf("%d stored submissions, want 3", n)
	}
	wantConsents := []string{ // in purpose order within a submission
		"email_marketing pending 2026-11-01 form " + subs[0],
		"personalization granted 2026-11-01 form " + subs[0],
	}
	if got := consentRows(t, k, contactID); !slices.Equal(got, wantConsents) {
		t.Errorf("consent rows\n got %q\nwant %q", got, wantConsents)
	}

	// The double opt-in link from the outbox confirms email marketing.
	k.followOptInLink(t, contactID)
	wantConsents = append(wantConsents, "email_marketing granted 2026-11-01 form confirm/"+subs[0])
	eventually(t, "the confirmation is recorded", func() bool { return slices.Equal(consentRows(t, k, contactID), wantConsents) })
	recordHistory(t, k, workflows.ContactWorkflowID(contactID), "", "contact_three_visits.json")
}

// followOptInLink opens the contact's double opt-in link from the outbox, as
// the person does from the message.
func (k *kithEnv) followOptInLink(t *testing.T, contactID string) {
	t.Helper()
	var payload []byte
	if err := k.Store.DB().QueryRow(`SELECT payload FROM outbox WHERE contact_id = $1 AND kind = 'double_opt_in'`, contactID).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var msg struct{ Link string }
	json.Unmarshal(payload, &msg)
	resp, err := http.Get(msg.Link)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("confirmation link: %v %v", resp, err)
	}
	resp.Body.Close()
}

func consentRows(t *testing.T, k *kithEnv, contactID string) []string {
	t.Helper()
	var rows []string
	if err := k.Store.DB().Select(&rows, `SELECT concat_ws(' ', purpose, status, text_version, source, source_ref)
		FROM consents WHERE contact_id = $1 ORDER BY id`, contactID); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestBadInputsAreRefusedWithSpecificViolations(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	valid := func(id string) map[string]any {
		return map[string]any{"submission_id": id, "anonymous_id": "anon-bad-inputs",
			"fields":   map[string]string{"email": "grace@example.com", "phone": "+47 412 34 567", "birth_date": "1985-06-01"},
			"consents": consentsGiven}
	}
	with := func(id string, change func(map[string]any)) map[string]any { b := valid(id); change(b); return b }
	for _, tc := range []struct {
		name       string
		body       map[string]any
		field, cod string
	}{
		{"invalid phone", with("bad-phone-1", func(b map[string]any) { b["fields"].(map[string]string)["phone"] = "+47 12" }), "phone", "invalid_phone"},
		{"impossible birth date", with("bad-birth-1", func(b map[string]any) { b["fields"].(map[string]string)["birth_date"] = "1985-02-30" }), "birth_date", "invalid_date"},
		{"birth date in the future", with("bad-birth-2", func(b map[string]any) { b["fields"].(map[string]string)["birth_date"] = "2090-01-01" }), "birth_date", ""},
		{"missing required consent", with("no-consent-1", func(b map[string]any) { b["consents"] = map[string]any{} }), "consents.personalization", "consent_required"},
		{"stale consent text", with("old-text-1", func(b map[string]any) {
			b["consents"] = map[string]any{"personalization": map[string]any{"granted": true, "text_version": "2020-01-01"}}
		}), "consents.personalization", "stale_consent_text"},
		{"field not in the form", with("extra-1", func(b map[string]any) { b["fields"].(map[string]string)["age"] = "40" }), "age", "unknown_field"},
		{"no submission id", with("", func(map[string]any) {}), "submission_id", "invalid_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e errorResponse
			if code := k.postJSON(t, "/v1/forms/profile/submissions", tc.body, &e); code != http.StatusUnprocessableEntity {
				t.Fatalf("answered %d, want 422", code)
			}
			i := slices.IndexFunc(e.Error.Violations, func(v kith.Violation) bool { return v.Field == tc.field })
			if i < 0 || (tc.cod != "" && e.Error.Violations[i].Code != tc.cod) || e.Error.Violations[i].Message == "" {
				t.Errorf("violations %+v, want %s on %s", e.Error.Violations, tc.cod, tc.field)
			}
		})
	}

	big := `{"submission_id":"too-big-1","fields":{"first_name":"` + strings.Repeat("a", 70<<10) + `"}}`
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string
	}{
		{"oversized body", "POST", "/v1/forms/profile/submissions", "application/json", big, 413, "too_large"},
		{"wrong content type", "POST", "/v1/forms/profile/submissions", "text/plain", `{}`, 415, "unsupported_media_type"},
		{"unknown form", "POST", "/v1/forms/nope/submissions", "application/json", `{}`, 404, "unknown_form"},
		{"unknown form next", "GET", "/v1/forms/nope/next", "", ``, 404, "unknown_form"},
		{"malformed JSON", "POST", "/v1/forms/profile/submissions", "application/json", `{"fields":`, 400, "malformed_json"},
		{"unknown endpoint", "GET", "/v1/nothing", "", ``, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e errorResponse
			if code := k.call(t, tc.method, tc.path, tc.ctype, []byte(tc.body), &e); code != tc.status || e.Error.Code != tc.code {
				t.Errorf("answered %d %q, want %d %q", code, e.Error.Code, tc.status, tc.code)
			}
		})
	}

	if n := k.count(t, `SELECT count(*) FROM contacts`); n != 0 {
		t.Errorf("%d contacts stored from refused input", n)
	}
	if n := k.count(t, `SELECT count(*) FROM form_submissions`); n != 0 {
		t.Errorf("%d submissions stored from refused input", n)
	}
	// Every refused submission is kept, the malformed JSON too (nothing is lost).
	if n := k.count(t, `SELECT count(*) FROM quarantine WHERE source = 'form'`); n != 8 {
		t.Errorf("%d refused submissions in quarantine, want 8", n)
	}

	// The same page, corrected, is accepted.
	var ok submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", valid("good-1-abcdef"), &ok); code != 200 || ok.ContactID == "" {
		t.Errorf("valid submission answered %d", code)
	}
}

func TestWithdrawalIsRecordedAndCancelsDoubleOptIn(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{
		"submission_id": "withdraw-sub-1", "fields": map[string]string{"email": "linus@example.com"}, "consents": consentsGiven,
	}, &res); code != 200 || res.Consents["email_marketing"] != kith.ConsentPending {
		t.Fatalf("submission: %d %+v", code, res)
	}
	before := time.Now()
	var out struct {
		Consents map[string]kith.ConsentStatus `json:"consents"`
	}
	body := map[string]any{"purpose": "email_marketing", "granted": false, "request_id": "unsubscribe-0001"}
	var refused errorResponse
	for _, token := range []string{"", k.unsubscribeToken(res.ContactID, "personalization"), k.unsubscribeToken(uuid.NewString(), "email_marketing")} {
		body["token"] = token // none, another purpose's, another contact's
		if code := k.postJSON(t, "/v1/contacts/"+res.ContactID+"/consents", body, &refused); code != http.StatusForbidden {
			t.Errorf("withdrawal without this contact's signed link answered %d, want 403", code)
		}
	}
	body["token"] = k.unsubscribeToken(res.ContactID, "email_marketing")
	for range 2 { // a retried request records once
		if code := k.postJSON(t, "/v1/contacts/"+res.ContactID+"/consents", body, &out); code != 200 || out.Consents["email_marketing"] != kith.ConsentWithdrawn {
			t.Fatalf("withdraw: %d %+v", code, out)
		}
	}
	want := []string{"email_marketing pending 2026-11-01 form withdraw-sub-1", "personalization granted 2026-11-01 form withdraw-sub-1",
		"email_marketing withdrawn 2026-11-01 form unsubscribe-0001"}
	if got := consentRows(t, k, res.ContactID); !slices.Equal(got, want) {
		t.Errorf("consent rows\n got %q\nwant %q", got, want)
	}
	cur, err := k.Store.Consents(context.Background(), res.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if w := cur["email_marketing"]; w.Status != kith.ConsentWithdrawn || w.At.Before(before.Add(-time.Second)) || w.IP == "" {
		t.Errorf("stored withdrawal %+v", w)
	}
	view := queryContact(t, k, res.ContactID)
	if len(view.Pending) != 0 || view.Consents["email_marketing"].Status != kith.ConsentWithdrawn || view.Stage != "lead" {
		t.Errorf("workflow state: pending %v, consent %+v, stage %s", view.Pending, view.Consents["email_marketing"], view.Stage)
	}
	var e errorResponse
	if code := k.postJSON(t, "/v1/contacts/"+res.ContactID+"/consents", map[string]any{"purpose": "email_marketing", "granted": true, "request_id": "regrant-0001", "token": body["token"]}, &e); code != 422 {
		t.Errorf("granting through the withdrawal endpoint answered %d", code)
	}
	recordHistory(t, k, workflows.ContactWorkflowID(res.ContactID), "", "contact_withdrawal.json")
}

func queryContact(t *testing.T, k *kithEnv, contactID string) workflows.ContactView {
	t.Helper()
	view, err := tryQueryContact(k, contactID)
	if err != nil {
		t.Fatal(err)
	}
	return view
}

// logWorkflowState logs what the server says of a workflow a test gave up on:
// its run, status, history length and pending workflow task.
func logWorkflowState(t *testing.T, k *kithEnv, workflowID string) {
	t.Helper()
	d, err := k.Client.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		t.Logf("describe %s: %v", workflowID, err)
		return
	}
	info := d.WorkflowExecutionInfo
	t.Logf("run %s: status %s, history length %d, pending workflow task %v, pending activities %d",
		info.Execution.RunId, info.Status, info.HistoryLength, d.PendingWorkflowTask, len(d.PendingActivities))
}

// tryQueryContact asks the contact's workflow for its state. A poll uses it
// directly: a query can time out while the workflow works through a burst of
// signals, and the poll should then ask again rather than fail.
func tryQueryContact(k *kithEnv, contactID string) (workflows.ContactView, error) {
	var view workflows.ContactView
	v, err := k.Client.QueryWorkflow(context.Background(), workflows.ContactWorkflowID(contactID), "", workflows.QueryState)
	if err != nil {
		return view, err
	}
	err = v.Get(&view)
	return view, err
}

func TestSignalBurstAcrossContinueAsNew(t *testing.T) {
	k := newKith(t, workflows.ContactInput{MaxEventsInRun: 50})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{
		"submission_id": "burst-sub-1", "fields": map[string]string{"email": "burst@example.com"}, "consents": consentsGiven,
	}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	ctx := context.Background()
	wid := workflows.ContactWorkflowID(res.ContactID)
	first, err := k.Client.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		t.Fatal(err)
	}
	const burst = 500
	var wg sync.WaitGroup
	errs := make(chan error, burst)
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range burst / 10 {
				errs <- k.Client.SignalWorkflow(ctx, wid, "", workflows.SignalEvent,
					workflows.EventSignal{EventID: fmt.Sprintf("e-%d-%d", g, i), Type: "page_view", At: time.Now()})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("signal: %v", err)
		}
	}
	// 500 signals through ten runs take seconds alone and a minute on a
	// machine busy with the other packages' tests.
	counted, queries, lastErr, slowest := -1, 0, error(nil), time.Duration(0)
	defer func() {
		if t.Failed() {
			t.Logf("the contact's workflow had counted %d events (-1: no query answered) after %d queries (the slowest took %s); the last error: %v", counted, queries, slowest, lastErr)
			logWorkflowState(t, k, wid)
		}
	}()
	eventuallyWithin(t, 2*time.Minute, "all 500 events counted", func() bool {
		queries++
		start := time.Now()
		view, err := tryQueryContact(k, res.ContactID)
		slowest = max(slowest, time.Since(start))
		if err == nil {
			counted = view.Events
		} else {
			lastErr = err
		}
		return counted == burst
	})
	view := queryContact(t, k, res.ContactID)
	last, err := k.Client.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		t.Fatal(err)
	}
	if last.WorkflowExecutionInfo.Execution.RunId == first.WorkflowExecutionInfo.Execution.RunId {
		t.Errorf("the workflow never continued as new")
	}
	if view.Fields[kith.FieldEmail].Value != "burst@example.com" || view.Consents["email_marketing"].Status != kith.ConsentPending || len(view.Pending) != 1 {
		t.Errorf("state not carried over: %+v", view)
	}
	recordHistory(t, k, wid, first.WorkflowExecutionInfo.Execution.RunId, "contact_continue_as_new.json")
	t.Logf("%d events across continue-as-new; the last run started at %s", view.Events, last.WorkflowExecutionInfo.StartTime.AsTime().Format(time.RFC3339))
}
