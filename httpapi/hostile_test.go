package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/workflows"
)

// submitAs posts a submission body as a given client (a browser with its own
// cookies) and returns the status and the decoded answer.
func (k *kithEnv) submitAs(t *testing.T, c *http.Client, body any) (int, map[string]any, http.Header) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return k.send(t, c, "POST", "/v1/forms/profile/submissions", b)
}

func (k *kithEnv) send(t *testing.T, c *http.Client, method, path string, body []byte) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, k.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"_body": string(raw)}
	}
	return resp.StatusCode, out, resp.Header
}

func browserClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: time.Minute}
}

// TestHostileInputIsRefusedAndQuarantined sends what an outsider would: NUL
// characters in every field and id, bytes that are not UTF-8, repeated keys and
// data after the document. Each is answered 4xx with a specific violation and
// kept in quarantine byte for byte; none reaches a workflow.
func TestHostileInputIsRefusedAndQuarantined(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "hostile-base-1",
		"anonymous_id": "anon-hostile-1", "fields": map[string]string{"email": "target@example.com"}, "consents": consentsGiven}, &res); code != 200 {
		t.Fatalf("valid submission answered %d", code)
	}
	base := func(id, fields string) string {
		return `{"submission_id":"` + id + `","anonymous_id":"anon-hostile-1","fields":{` + fields + `},` +
			`"consents":{"personalization":{"granted":true,"text_version":"2026-11-01"}}}`
	}
	type bad struct {
		name, body string
		status     int
		field      string // a violation on this field (422 answers)
	}
	var cases []bad
	for _, f := range []string{"email", "phone", "first_name", "last_name", "birth_date", "country", "city", "postal_code"} {
		cases = append(cases, bad{"NUL in " + f, base("nul-"+f+"-1", `"`+f+`":"a\u0000b"`), 422, "fields." + f},
			bad{"not UTF-8 in " + f, base("utf8-"+f+"-1", `"`+f+`":"a`+"\xff\xfe"+`b"`), 422, "body"})
	}
	cases = append(cases,
		bad{"NUL then a repeated key", base("dup-city-1", `"city":"\u0000","city":"Oslo"`), 422, "fields.city"},
		bad{"repeated key", base("dup-city-2", `"city":"Bergen","city":"Oslo"`), 422, "fields.city"},
		bad{"NUL in the submission id", base(`nul\u0000id-1`, `"city":"Oslo"`), 422, "submission_id"},
		bad{"a raw NUL byte", base("raw-nul-1", `"city":"Os`+"\x00"+`lo"`), 400, ""},
		bad{"NUL in a field name", base("nul-name-1", `"ci\u0000ty":"Oslo"`), 422, `fields."ci\x00ty"`},
		bad{"not UTF-8 in a field name", base("utf8-name-1", `"ci`+"\xc3\x28"+`ty":"Oslo"`), 422, "body"},
		bad{"NUL in a consent text version", strings.Replace(base("nul-consent-1", `"city":"Oslo"`), "2026-11-01", `2026\u0000`, 1), 422, "consents.personalization.text_version"},
		bad{"trailing document", base("trailing-1", `"city":"Oslo"`) + `{"submission_id":"x"}`, 400, ""},
		bad{"trailing garbage", base("trailing-2", `"city":"Oslo"`) + ` garbage`, 400, ""},
		bad{"not UTF-8 anywhere", "\xff\xfe\x00\x01", 422, "body"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e errorResponse
			code := k.call(t, "POST", "/v1/forms/profile/submissions", "application/json", []byte(tc.body), &e)
			if code != tc.status {
				t.Fatalf("answered %d %+v, want %d", code, e.Error, tc.status)
			}
			if tc.field != "" && !hasViolation(e.Error.Violations, tc.field) {
				t.Errorf("violations %+v, want one on %s", e.Error.Violations, tc.field)
			}
			var n int
			if err := k.Store.DB().Get(&n, `SELECT count(*) FROM quarantine WHERE source = 'form' AND payload = $1`, []byte(tc.body)); err != nil || n != 1 {
				t.Errorf("the refused body is kept %d times (%v), want once, byte for byte", n, err)
			}
		})
	}
	if n := k.count(t, `SELECT count(*) FROM form_submissions`); n != 1 {
		t.Errorf("%d submissions stored, want only the valid one", n)
	}
	if n := k.count(t, `SELECT count(*) FROM contacts`); n != 1 {
		t.Errorf("%d contacts, want 1", n)
	}
	// Nothing reached the contact's workflow: no activity is waiting for a retry.
	d, err := k.Client.DescribeWorkflowExecution(context.Background(), workflows.ContactWorkflowID(res.ContactID), "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.PendingActivities); n != 0 {
		t.Errorf("%d activities pending on the contact, want none", n)
	}
}

func hasViolation(vs kith.Violations, field string) bool {
	for _, v := range vs {
		if v.Field == field && v.Message != "" && v.Code != "" {
			return true
		}
	}
	return false
}

// TestWithdrawalIsNotHeldUpByABadMessage: a submission that gets past the API
// (another caller of the contact service) with a value PostgreSQL refuses fails
// at once instead of being retried for an hour, and a withdrawal sent while
// bad submissions are arriving is recorded within 5 seconds.
func TestWithdrawalIsNotHeldUpByABadMessage(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "urgent-base-1",
		"fields": map[string]string{"email": "urgent@example.com"}, "consents": consentsGiven}, &res); code != 200 {
		t.Fatalf("valid submission answered %d", code)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var direct error
	var directTook time.Duration
	wg.Add(2)
	go func() { // straight to the service: the raw body holds a NUL PostgreSQL refuses
		defer wg.Done()
		start := time.Now()
		_, direct = k.Service.Submit(ctx, kith.SubmitRequest{Submission: kith.Submission{SubmissionID: "poison-0001", Form: "profile",
			ContactID: res.ContactID, Raw: json.RawMessage(`{"city":"\u0000","city":"Oslo"}`), ReceivedAt: time.Now(),
			Fields: map[kith.Field]kith.Value{kith.FieldCity: {Value: "Oslo", Provenance: kith.Provenance{Source: kith.SourceForm, Ref: "profile/poison-0001", At: time.Now()}}}}})
		directTook = time.Since(start)
	}()
	go func() { // and through the API, over and over
		defer wg.Done()
		for i := range 20 {
			k.call(t, "POST", "/v1/forms/profile/submissions", "application/json",
				[]byte(fmt.Sprintf(`{"submission_id":"poison-api-%04d","contact_id":%q,"fields":{"city":"\u0000","city":"Oslo"}}`, i, res.ContactID)), nil)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	var out struct {
		Consents map[string]kith.ConsentStatus `json:"consents"`
	}
	code := k.postJSON(t, "/v1/contacts/"+res.ContactID+"/consents", map[string]any{"purpose": "email_marketing",
		"request_id": "urgent-withdrawal-1", "token": k.unsubscribeToken(res.ContactID, "email_marketing")}, &out)
	took := time.Since(start)
	wg.Wait()
	if code != 200 || out.Consents["email_marketing"] != kith.ConsentWithdrawn || took > 5*time.Second {
		t.Errorf("withdrawal answered %d %v after %s; want withdrawn within 5 s", code, out.Consents, took)
	}
	if kith.ErrorCode(direct) != kith.CodeInvalid || directTook > 10*time.Second {
		t.Errorf("the poisoned submission ended with %v after %s; want a refusal (invalid) at once, not retries", direct, directTook)
	}
	if n := k.count(t, `SELECT count(*) FROM form_submissions WHERE submission_id LIKE 'poison%'`); n != 0 {
		t.Errorf("%d poisoned submissions stored", n)
	}
	if n := k.count(t, `SELECT count(*) FROM consents WHERE contact_id = $1 AND status = 'withdrawn'`, res.ContactID); n != 1 {
		t.Errorf("%d withdrawals recorded, want 1", n)
	}
	recordHistory(t, k, workflows.ContactWorkflowID(res.ContactID), "", "contact_poisoned_then_withdrawn.json")
}

// TestManyConcurrentSubmissionsAreBounded: 50 submissions for one contact at
// once exceed what Temporal lets one workflow have in flight; each gets an
// answer within the service's bound: applied (200) or a retry later (429/503
// with Retry-After), never a 500 and never a hang; and a retry with the same
// id applies it, once.
func TestManyConcurrentSubmissionsAreBounded(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	k.Service.Wait = 2 * time.Second // far less than 50 updates of one contact take
	anon := "anon-crowd-" + uuid.NewString()
	var first submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "crowd-0000", "anonymous_id": anon,
		"fields": map[string]string{"email": "crowd@example.com"}, "consents": consentsGiven}, &first); code != 200 {
		t.Fatalf("first submission answered %d", code)
	}
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	retryAfter := make([]string, 50)
	submit := func(i int) (int, string) {
		b, _ := json.Marshal(map[string]any{"submission_id": fmt.Sprintf("crowd-%04d", i+1), "anonymous_id": anon,
			"fields": map[string]string{"city": []string{"Oslo", "Bergen", "Trondheim", "Tromsø", "Bodø"}[i%5]}})
		req, _ := http.NewRequest("POST", k.URL+"/v1/forms/profile/submissions", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	start := time.Now()
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], retryAfter[i] = submit(i)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	counts := map[int]int{}
	for i, s := range statuses {
		counts[s]++
		switch s {
		case 200:
		case 429, 503:
			if retryAfter[i] == "" {
				t.Errorf("submission %d answered %d without Retry-After", i, s)
			}
		default:
			t.Errorf("submission %d answered %d", i, s)
		}
	}
	// More than Temporal lets one workflow have in flight: some are told to
	// retry, and every answer comes within the bound. (How many are applied in
	// the burst depends on the machine's load, so it is not asserted.)
	if counts[429]+counts[503] == 0 || took > 30*time.Second {
		t.Errorf("answers %v after %s; want some told to retry, every answer within the bound", counts, took)
	}
	// What the answer promises: a retry with the same id applies it, once.
	for i, s := range statuses {
		for attempt := 0; s != 200 && attempt < 20; attempt++ {
			time.Sleep(500 * time.Millisecond)
			s, _ = submit(i)
		}
		if s != 200 {
			t.Errorf("submission %d still answered %d after retries", i, s)
		}
	}
	if n := k.count(t, `SELECT count(*) FROM form_submissions`); n != 51 {
		t.Errorf("%d submissions stored, want each of the 51 once", n)
	}
	t.Logf("50 concurrent submissions for one contact: %v in %s", counts, took.Round(time.Millisecond))
}

// TestLinksAndErrorsTellNothing: a wrong confirmation token and an unknown
// contact show the same page; decoding errors speak JSON, not Go; a wrong method
// gets 405 with Allow.
func TestLinksAndErrorsTellNothing(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "links-sub-1",
		"fields": map[string]string{"email": "links@example.com"}, "consents": consentsGiven}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	page := func(path string) (int, string) {
		resp, err := http.Get(k.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	wrongCode, wrong := page("/v1/confirm?contact=" + res.ContactID + "&purpose=email_marketing&token=not-the-token")
	unknownCode, unknown := page("/v1/confirm?contact=" + uuid.NewString() + "&purpose=email_marketing&token=not-the-token")
	if wrongCode != 404 || wrong != unknown || unknownCode != wrongCode || !strings.Contains(wrong, "This link is not valid") {
		t.Errorf("wrong token: %d %q\nunknown contact: %d %q\nwant the same 404 'not valid' page", wrongCode, wrong, unknownCode, unknown)
	}
	if got := queryContact(t, k, res.ContactID).Consents["email_marketing"].Status; got != kith.ConsentPending {
		t.Errorf("after a wrong token the consent is %q, want still pending", got)
	}

	var e errorResponse
	if code := k.call(t, "POST", "/v1/forms/profile/submissions", "application/json", []byte(`[]`), &e); code != 400 ||
		!strings.Contains(e.Error.Message, "must be an object") || strings.Contains(e.Error.Message, "httpapi") {
		t.Errorf("an array for a submission: %d %q; want 400 saying it must be an object", code, e.Error.Message)
	}
	if code := k.call(t, "POST", "/v1/forms/profile/submissions", "application/json", []byte(`{"submission_id":12}`), &e); code != 400 ||
		!strings.Contains(e.Error.Message, "submission_id must be a string, not a number") {
		t.Errorf("a number for an id: %d %q", code, e.Error.Message)
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/v1/forms/profile/submissions", "POST"},
		{"DELETE", "/v1/validate", "POST"},
		{"POST", "/v1/forms/profile/next", "GET, HEAD"},
	} {
		code, body, h := k.send(t, http.DefaultClient, tc.method, tc.path, nil)
		if code != 405 || h.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q %v; want 405 Allow %q", tc.method, tc.path, code, h.Get("Allow"), body, tc.allow)
		}
	}
}

// claimLink is the newest verification link queued for the contact.
func (k *kithEnv) claimLink(t *testing.T, contactID string) string {
	t.Helper()
	var payload []byte
	if err := k.Store.DB().QueryRow(`SELECT payload FROM outbox WHERE contact_id = $1 AND kind = 'verify_claim' ORDER BY created_at DESC LIMIT 1`,
		contactID).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var msg struct{ Link string }
	json.Unmarshal(payload, &msg)
	return msg.Link
}

func (k *kithEnv) open(t *testing.T, c *http.Client, link string) (int, string) {
	t.Helper()
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestProfileTakeover: a second visitor who submits a form with a victim's email
// and a new phone changes nothing on the victim's profile, does not learn its
// contact id and cannot steer it (its browser is not linked). A genuine
// returning visitor on a new device gets their answers applied by opening the
// emailed link in that same browser; the link opened in another browser applies
// nothing.
func TestProfileTakeover(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	victim, attacker, newDevice, elsewhere := browserClient(t), browserClient(t), browserClient(t), browserClient(t)
	code, out, _ := k.submitAs(t, victim, map[string]any{"submission_id": "victim-sub-1", "anonymous_id": "anon-victim-0001",
		"fields": map[string]string{"email": "victoria@example.com", "first_name": "Victoria", "phone": "+47 412 34 567"}, "consents": consentsGiven})
	victimID, _ := out["contact_id"].(string)
	if code != 200 || victimID == "" {
		t.Fatalf("victim's submission answered %d %v", code, out)
	}
	profile := func() (first, phone string) {
		if err := k.Store.DB().QueryRow(`SELECT coalesce(first_name, ''), coalesce(phone, '') FROM contacts WHERE id = $1`, victimID).Scan(&first, &phone); err != nil {
			t.Fatal(err)
		}
		return first, phone
	}

	// The attacker names the victim's email with a new phone and name.
	code, out, _ = k.submitAs(t, attacker, map[string]any{"submission_id": "attacker-sub-1", "anonymous_id": "anon-attacker-01",
		"fields": map[string]string{"email": "Victoria@Example.com", "first_name": "Eve", "phone": "+47 987 65 432"}, "consents": consentsGiven})
	if code != http.StatusAccepted || out["status"] != "verification_sent" || fmt.Sprint(out) == "" || strings.Contains(fmt.Sprint(out), victimID) {
		t.Errorf("attacker's claim answered %d %v; want 202 verification_sent without the contact id", code, out)
	}
	// A bare contact id is not a credential either.
	code, out, _ = k.submitAs(t, attacker, map[string]any{"submission_id": "attacker-sub-2", "contact_id": victimID,
		"fields": map[string]string{"first_name": "Eve"}})
	if code == 200 || strings.Contains(fmt.Sprint(out), victimID) {
		t.Errorf("a submission naming only the victim's contact id answered %d %v", code, out)
	}
	code, out, _ = k.submitAs(t, attacker, map[string]any{"submission_id": "attacker-sub-3", "contact_id": victimID, "anonymous_id": "anon-attacker-01",
		"fields": map[string]string{"first_name": "Eve"}, "consents": consentsGiven})
	if strings.Contains(fmt.Sprint(out), victimID) {
		t.Errorf("a submission naming the victim's contact id with the attacker's browser answered %d %v", code, out)
	}
	for _, q := range []string{"?contact_id=" + victimID, "?anonymous_id=anon-attacker-01", "?contact_id=" + victimID + "&anonymous_id=anon-attacker-01"} {
		code, out, _ := k.send(t, attacker, "GET", "/v1/forms/profile/next"+q, nil)
		if code != 200 || out["contact_id"] == victimID {
			t.Errorf("next%s answered %d with contact %v", q, code, out["contact_id"])
		}
	}
	if first, phone := profile(); first != "Victoria" || phone != "+4741234567" {
		t.Errorf("victim's profile is now %s %s", first, phone)
	}
	if id, err := k.Store.ContactIDFor(context.Background(), kith.Identity{Kind: kith.IdentityAnonymous, Value: "anon-attacker-01"}); id == victimID {
		t.Errorf("the attacker's browser is linked to the victim (%v): its events would drive the victim's triggers", err)
	}
	// The link went to the victim's address; opened elsewhere (the victim's own
	// browser, say) it applies nothing.
	if code, body := k.open(t, victim, k.claimLink(t, victimID)); code != 404 || !strings.Contains(body, "not valid") {
		t.Errorf("the attacker's claim link opened in another browser answered %d", code)
	}
	if first, phone := profile(); first != "Victoria" || phone != "+4741234567" {
		t.Errorf("after the link was opened elsewhere the victim's profile is %s %s", first, phone)
	}

	// The real person, on a new device.
	code, out, _ = k.submitAs(t, newDevice, map[string]any{"submission_id": "newdevice-sub-1", "anonymous_id": "anon-newdevice-1",
		"fields": map[string]string{"email": "victoria@example.com", "phone": "+47 465 00 000"}, "consents": consentsGiven})
	if code != http.StatusAccepted {
		t.Fatalf("returning visitor's submission answered %d %v", code, out)
	}
	link := k.claimLink(t, victimID)
	if code, _ := k.open(t, elsewhere, link); code != 404 {
		t.Errorf("the link opened in another browser answered %d, want 404", code)
	}
	if _, phone := profile(); phone != "+4741234567" {
		t.Errorf("the link opened in another browser applied the phone %s", phone)
	}
	if code, body := k.open(t, newDevice, link); code != 200 || !strings.Contains(body, "saved") {
		t.Errorf("the link opened in the same browser answered %d %s", code, body)
	}
	if first, phone := profile(); first != "Victoria" || phone != "+4746500000" {
		t.Errorf("after verification the profile is %s %s; want Victoria +4746500000", first, phone)
	}
	if id, _ := k.Store.ContactIDFor(context.Background(), kith.Identity{Kind: kith.IdentityAnonymous, Value: "anon-newdevice-1"}); id != victimID {
		t.Errorf("the verified browser's anonymous id belongs to %q, want the contact", id)
	}
	// Now that browser is the contact's: the next form visit knows it.
	if code, out, _ := k.send(t, newDevice, "GET", "/v1/forms/profile/next?anonymous_id=anon-newdevice-1", nil); code != 200 || out["contact_id"] != victimID {
		t.Errorf("the verified browser's next visit: %d %v", code, out["contact_id"])
	}
	// Values written through forms record their source, reference and time.
	stored, err2 := k.Store.Contact(context.Background(), victimID)
	if err2 != nil {
		t.Fatal(err2)
	}
	if p := stored.Fields[kith.FieldPhone].Provenance; p.Source != kith.SourceForm || p.Ref != "profile/newdevice-sub-1" || p.At.IsZero() {
		t.Errorf("the phone's provenance %+v, want the form, its submission and a time", p)
	}
	recordHistory(t, k, workflows.ContactWorkflowID(victimID), "", "contact_claim_verified.json")
}

// TestSignedProfileLinkIdentifiesTheVisitor: a "complete your profile" link
// Kith sent carries a signed token; with it the form knows the person and the
// browser joins the contact. A forged, foreign-kind or expired token does not.
func TestSignedProfileLinkIdentifiesTheVisitor(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "profile-link-sub-1",
		"fields": map[string]string{"email": "linked@example.com"}, "consents": consentsGiven}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	sign := func(kind string, expires time.Time) string {
		return k.API.Links.Sign(kith.Link{Kind: kind, ContactID: res.ContactID, Expires: expires})
	}
	good := sign(kith.LinkProfile, time.Now().Add(time.Hour))
	for name, token := range map[string]string{
		"forged":      good[:len(good)-2] + "xx",
		"unsubscribe": sign(kith.LinkUnsubscribe, time.Now().Add(time.Hour)),
		"expired":     sign(kith.LinkProfile, time.Now().Add(-time.Minute)),
		"another key": kith.Signer{Key: []byte("some other key of thirty-two bytes!!")}.Sign(kith.Link{Kind: kith.LinkProfile, ContactID: res.ContactID, Expires: time.Now().Add(time.Hour)}),
	} {
		code, out, _ := k.send(t, http.DefaultClient, "GET", "/v1/forms/profile/next?contact_token="+token, nil)
		if code != 422 || strings.Contains(fmt.Sprint(out), res.ContactID) {
			t.Errorf("%s token: next answered %d %v; want 422 without the contact", name, code, out)
		}
	}
	code, out, _ := k.send(t, http.DefaultClient, "GET", "/v1/forms/profile/next?contact_token="+good+"&anonymous_id=anon-linked-0001", nil)
	if code != 200 || out["contact_id"] != res.ContactID {
		t.Fatalf("next with the signed link answered %d %v", code, out)
	}
	var sub submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "profile-link-sub-2", "contact_token": good,
		"anonymous_id": "anon-linked-0001", "fields": map[string]string{"first_name": "Linda"}}, &sub); code != 200 || sub.ContactID != res.ContactID {
		t.Fatalf("submission with the signed link answered %d %+v", code, sub)
	}
	if id, _ := k.Store.ContactIDFor(context.Background(), kith.Identity{Kind: kith.IdentityAnonymous, Value: "anon-linked-0001"}); id != res.ContactID {
		t.Errorf("the browser's anonymous id belongs to %q, want the contact", id)
	}
}

// TestAnonymousCallersQuarantineIsCappedPerHour: refused submissions are kept
// in quarantine (and in the raw lake) only up to the caller's hourly budget;
// past it they are still answered with their violations, and counted as
// dropped.
func TestAnonymousCallersQuarantineIsCappedPerHour(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	k.Store.UseQuarantineCap(200 << 10)
	pad := strings.Repeat("x", 60<<10)
	for i := range 5 {
		body := fmt.Sprintf(`{"submission_id":"cap-%d","fields":{"email":"not an address","city":"%s"}}`, i, pad)
		code, resp, _ := k.send(t, http.DefaultClient, "POST", "/v1/forms/profile/submissions", []byte(body))
		if code != 422 || resp["error"] == nil {
			t.Fatalf("refused submission %d answered %d %v, want 422 with its violations", i, code, resp)
		}
	}
	if n := k.count(t, `SELECT count(*) FROM quarantine WHERE source = 'form'`); n != 3 {
		t.Errorf("%d submissions quarantined, want 3 (200 KiB of ~60 KiB each)", n)
	}
	var kept, dropped, droppedBytes int
	if err := k.Store.DB().QueryRow(`SELECT kept, dropped, dropped_bytes FROM quarantine_budgets WHERE client = 'ip:127.0.0.1'`).Scan(&kept, &dropped, &droppedBytes); err != nil {
		t.Fatal(err)
	}
	if kept != 3 || dropped != 2 || droppedBytes < 120<<10 {
		t.Errorf("budget: kept %d, dropped %d (%d bytes); want 3 kept, 2 dropped", kept, dropped, droppedBytes)
	}
	// The raw lake keeps the caller's refusals within a budget of the same size.
	spooled, err := k.Store.SpooledLines(context.Background(), kith.LakeForms)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range spooled {
		if l.Verdict == kith.VerdictQuarantined {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d refused submissions spooled for the lake, want 3", n)
	}
}
