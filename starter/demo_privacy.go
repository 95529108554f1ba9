package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/workflows"
)

// The demo operator's admin key (KITH_ADMIN_KEYS=ops:…) and codec server
// token (KITH_CODEC_KEYS=ops:…).
const (
	demoAdminKey   = "demo-ops-admin-key-000001"
	demoCodecToken = "demo-ops-codec-token-0001"
)

// demoGraceElsewhere gives Grace what a real customer collects beyond forms
// and tracking, through the public paths: a purchase and a support ticket in
// the CRM (signed webhooks, CRMSync), and an old duplicate record of her in a
// CSV import (no shared email or phone), which de-duplication holds for a
// person to review and merges once ops decide through the admin API.
func demoGraceElsewhere(ctx context.Context, c client.Client, sim *crmsim.Sim, apiURL, grace, dir string, e env) error {
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }
	now := time.Now()
	contact := sim.AddContact(map[string]string{"email": "Grace.Hopper@Example.org", "firstname": "Grace", "lastname": "Hopper"}, now)
	deal := sim.Add("deals", map[string]string{"amount": "129.00", "deal_currency_code": "nok", "dealstage": "closedwon", "closedate": now.Format(time.RFC3339)}, now, contact.ID)
	ticket := sim.Add("tickets", map[string]string{"subject": "Where is my order?", "hs_pipeline_stage": "open", "createdate": now.Format(time.RFC3339)}, now, contact.ID)
	hook := apiURL + "/v1/webhooks/crm/hubspot"
	for _, ev := range []crmsim.Event{
		{EventID: now.UnixNano(), SubscriptionType: "deal.creation", ObjectID: deal.ID},
		{EventID: now.UnixNano() + 1, SubscriptionType: "ticket.creation", ObjectID: ticket.ID},
	} {
		if _, err := sim.SendWebhook(ctx, hook, []crmsim.Event{ev}, now, false); err != nil {
			return err
		}
		var res workflows.CRMSyncResult
		if err := c.GetWorkflow(ctx, workflows.CRMSyncWorkflowID("hubspot", ev.EventID), "").Get(ctx, &res); err != nil {
			return err
		}
		say("CRM %s for Grace (her CRM record names her email): %s", ev.SubscriptionType, res.Status)
	}

	old := filepath.Join(dir, "old-newsletter-list.csv")
	csv := "email,first_name,last_name,phone,birth_date,country,city,postal_code,source\n" +
		"g.hopper.1986@mail.example,Grace,Hopper,,1986-12-09,NO,Oslo,0150,web\n"
	if err := os.WriteFile(old, []byte(csv), 0o644); err != nil {
		return err
	}
	sum, err := importFile(ctx, c, old, e.stderr)
	if err != nil {
		return err
	}
	say("an old list holds Grace under another address (%s): %d new contact", filepath.Base(old), sum.Created)

	// De-duplication holds Grace and her old record for review: ops decide.
	dedup := func(id string) (activities.DedupSummary, error) {
		var sum activities.DedupSummary
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.DeduplicateName)
		if err == nil {
			err = run.Get(ctx, &sum)
		}
		return sum, err
	}
	first, err := dedup("deduplicate-old-list")
	if err != nil {
		return err
	}
	say("Deduplicate: %d merges, %d pairs held for a person to review", first.Merges, first.Review)
	d := demoAPI{ctx, apiURL}
	admin := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+demoAdminKey) }
	_, body, _, err := d.do(nil, "GET", "/v1/admin/reviews?limit=100", "", "", admin)
	if err != nil {
		return err
	}
	var queue struct{ Pairs []kith.ReviewPair }
	json.Unmarshal([]byte(body), &queue)
	for _, p := range queue.Pairs {
		if p.A != grace && p.B != grace {
			continue
		}
		code, _, _, err := d.do(nil, "POST", "/v1/admin/reviews", "application/json",
			fmt.Sprintf(`{"a":%q,"b":%q,"decision":"merge"}`, p.A, p.B), admin)
		if err != nil {
			return err
		}
		sum, err := dedup("deduplicate-after-review")
		if err != nil {
			return err
		}
		held := ""
		if p.Reason != "" {
			held = " (held back: " + p.Reason + ")"
		}
		say("review queue (GET /v1/admin/reviews, admin key): Grace and her old record, p=%.2f%s; decided merge (POST): %d; Deduplicate applied it: %d merge", p.Probability, held, code, sum.Merges)
	}

	return nil
}

// demoPrivacy shows the privacy API on Grace: her export (the right of
// access), her erasure from every store (the right to be forgotten), the
// same email refused when it comes back, and a second request as a no-op.
func demoPrivacy(ctx context.Context, apiURL, grace string, e env) error {
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }
	d := demoAPI{ctx, apiURL}
	admin := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+demoAdminKey) }

	code, body, _, err := d.do(nil, "GET", "/v1/privacy/contacts/"+grace+"/export", "", "", nil)
	if err != nil {
		return err
	}
	say("export without an admin key: %d", code)
	code, body, _, err = d.do(nil, "GET", "/v1/privacy/contacts/"+grace+"/export", "", "", admin)
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return fmt.Errorf("export answered %d: %.200s", code, body)
	}
	var profile struct {
		Provenance map[string]json.RawMessage `json:"field_provenance"`
	}
	json.Unmarshal(doc["profile"], &profile)
	var parts []string
	for name, raw := range doc {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil {
			parts = append(parts, fmt.Sprintf("%s %d", name, len(list)))
		}
	}
	sort.Strings(parts)
	say("Grace's export (GET /v1/privacy/contacts/{id}/export, admin key): %d; profile with provenance for %d fields; %s",
		code, len(profile.Provenance), strings.Join(parts, ", "))

	var receipt struct {
		Status string `json:"status"`
		Steps  []struct {
			Store   string         `json:"store"`
			Removed map[string]int `json:"removed"`
		} `json:"steps"`
	}
	code, body, _, err = d.do(nil, "POST", "/v1/privacy/erasures", "application/json", `{"contact_id":"`+grace+`"}`, admin)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(body), &receipt); err != nil {
		return fmt.Errorf("erasure answered %d: %.200s", code, body)
	}
	for range 60 {
		if receipt.Status == "completed" {
			break
		}
		time.Sleep(time.Second)
		if _, body, _, err = d.do(nil, "GET", "/v1/privacy/erasures/"+grace, "", "", admin); err != nil {
			return err
		}
		json.Unmarshal([]byte(body), &receipt)
	}
	var stores []string
	for _, s := range receipt.Steps {
		n := 0
		for _, v := range s.Removed {
			n += v
		}
		stores = append(stores, fmt.Sprintf("%s %d", s.Store, n))
	}
	say("Grace's erasure (POST /v1/privacy/erasures): %s; removed per store: %s", receipt.Status, strings.Join(stores, ", "))

	code, body, _, err = d.do(nil, "POST", "/v1/forms/profile/submissions", "application/json",
		`{"submission_id":"demo-after-erasure","fields":{"email":"Grace.Hopper@Example.org"},"consents":{"personalization":{"granted":true,"text_version":"2026-11-01"}}}`, nil)
	if err != nil {
		return err
	}
	say("the form sends Grace's email again: %d %s (refused: only keyed hashes of it are kept)", code, body)
	code, _, _, err = d.do(nil, "POST", "/v1/privacy/erasures", "application/json", `{"contact_id":"`+grace+`"}`, admin)
	if err != nil {
		return err
	}
	say("asking to erase her again: %d (the same receipt)", code)
	return nil
}
