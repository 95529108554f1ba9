package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/esp/espsim"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/workflows"
)

// demoListBuyersPerOrder: one in this many of the list's rows is a person who
// bought through the CRM (each a signed deal webhook and a CRMSync workflow).
const demoListBuyersPerOrder = 100

// demoList runs Kith's main job on a list of realistic size: n contacts from
// the labelled generator (duplicates and look-alikes, typos, swapped names,
// sparse rows), written with the mess real lists have (dedup.WriteCSV), are
// imported in the list's region; the shop's server sends their behaviour
// through the events API (by the list's customer ids), the CRM their orders
// (signed deal webhooks), the ESP a few hard bounces; one Cleaning then
// standardizes, de-duplicates, imputes, scores and archives, and the
// de-duplication is scored against the generator's truth.
func demoList(ctx context.Context, c client.Client, apiURL string, sim *crmsim.Sim, espSim *espsim.Sim, store *postgres.Store, dir string, n int, e env) error {
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }
	labeled := dedup.Generate(n, dedup.Difficulties["hard"], 2026)
	path := filepath.Join(dir, "generated-contacts.csv")
	var b bytes.Buffer
	if err := dedup.WriteCSV(&b, labeled); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	people := map[int]bool{}
	for _, l := range labeled {
		people[l.Entity] = true
	}
	say("a generated list of %d rows for %d people (labelled: duplicates, look-alikes, typos; national and invalid phones, day-first dates, wrapped emails): %s",
		len(labeled), len(people), path)
	in, err := prepareImport(path, 1000)
	if err != nil {
		return err
	}
	in.Region = "NO" // the list's own market: national phones and dates read there
	start := time.Now()
	run, err := startImport(ctx, c, in)
	if err != nil {
		return err
	}
	sum, err := waitImport(ctx, c, run, in.Size, e.stderr)
	if err != nil {
		return err
	}
	printSummary(e.stdout, sum)
	say("  imported in %s", time.Since(start).Round(100*time.Millisecond))

	// Each person's first row: its customer id is how the shop knows them.
	first := map[int]int{}
	for i, l := range labeled {
		if _, ok := first[l.Entity]; !ok {
			first[l.Entity] = i
		}
	}
	entities := make([]int, 0, len(first))
	for ent := range first {
		entities = append(entities, ent)
	}
	slices.Sort(entities)
	r := rand.New(rand.NewPCG(2026, 5))
	now := time.Now().UTC()
	var msgs []map[string]any
	viewers, buyers := 0, 0
	for _, ent := range entities {
		if r.IntN(10) >= 7 { // three in ten never came back to the shop
			continue
		}
		viewers++
		user := dedup.CustomerID(first[ent] + 1)
		// What people look at goes with their age (quality.ShopperCategories):
		// the Cleaning reads missing ages from it.
		age := 40
		if b, err := time.Parse(time.DateOnly, labeled[first[ent]].BirthDate); err == nil {
			age = now.Year() - b.Year()
		}
		for j, cat := range quality.ShopperCategories(age, 2+r.IntN(5), r) {
			msgs = append(msgs, map[string]any{"type": "track", "event": "Product Viewed", "userId": user,
				"messageId": fmt.Sprintf("list-%s-view-%d", user, j), "timestamp": now.Add(-time.Duration(r.IntN(90*24)) * time.Hour),
				"properties": map[string]any{"product_id": fmt.Sprintf("%s-%d", cat, r.IntN(30)), "category": cat}})
		}
		if r.IntN(3) == 0 {
			buyers++
			cat := quality.ShopperCategories(age, 1, r)[0]
			msgs = append(msgs, map[string]any{"type": "track", "event": "Order Completed", "userId": user,
				"messageId": fmt.Sprintf("list-%s-order", user), "timestamp": now.Add(-time.Duration(r.IntN(60*24)) * time.Hour),
				"properties": map[string]any{"order_id": "web-" + user, "revenue": 100 + r.IntN(2000), "currency": "NOK",
					"products": []map[string]any{{"product_id": fmt.Sprintf("%s-%d", cat, r.IntN(30)), "category": cat}}}})
		}
	}
	d := demoAPI{ctx, apiURL}
	start = time.Now()
	for batch := range slices.Chunk(msgs, 1000) {
		body, _ := json.Marshal(map[string]any{"batch": batch})
		code, answer, _, err := d.do(http.DefaultClient, "POST", "/v1/batch", "application/json", string(body), func(r *http.Request) {
			r.SetBasicAuth(demoBackendKey, "")
		})
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("events API answered %d: %s", code, answer)
		}
	}
	say("the shop's server sent %d events of %d people (%d with an Order Completed) by their customer ids in %s",
		len(msgs), viewers, buyers, time.Since(start).Round(100*time.Millisecond))

	// Orders in the CRM: a contact and a won deal each, announced by signed
	// webhooks in batches, as HubSpot sends them.
	before, err := store.OrderCount(ctx)
	if err != nil {
		return err
	}
	var hooks []crmsim.Event
	eventID := now.UnixNano()
	for _, ent := range entities {
		l := labeled[first[ent]]
		if l.Email == "" || len(hooks) == max(1, n/demoListBuyersPerOrder) {
			continue
		}
		at := now.Add(-time.Duration(r.IntN(30*24)) * time.Hour)
		contact := sim.AddContact(map[string]string{"email": l.Email, "firstname": l.FirstName, "lastname": l.LastName, "phone": l.Phone}, at)
		deal := sim.Add("deals", map[string]string{"amount": fmt.Sprintf("%d.00", 200+r.IntN(3000)), "deal_currency_code": "nok",
			"dealstage": "closedwon", "closedate": at.Format(time.RFC3339)}, at, contact.ID)
		eventID++
		hooks = append(hooks, crmsim.Event{EventID: eventID, SubscriptionType: "deal.creation", ObjectID: deal.ID})
	}
	start = time.Now()
	for batch := range slices.Chunk(hooks, 50) {
		if code, err := sim.SendWebhook(ctx, apiURL+"/v1/webhooks/crm/hubspot", batch, now, false); err != nil {
			return err
		} else if code >= 300 {
			return fmt.Errorf("CRM webhook answered %d", code)
		}
	}
	for _, h := range hooks {
		if err := c.GetWorkflow(ctx, workflows.CRMSyncWorkflowID("hubspot", h.EventID), "").Get(ctx, nil); err != nil {
			return err
		}
	}
	after, err := store.OrderCount(ctx)
	if err != nil {
		return err
	}
	say("the CRM announced %d won deals of the list's people (signed webhooks, 50 to a delivery): %d orders stored by their CRMSync workflows in %s",
		len(hooks), after-before, time.Since(start).Round(100*time.Millisecond))

	// Hard bounces reported by the ESP for one address in a hundred.
	var bounces []esp.Event
	for i, ent := range entities {
		l := labeled[first[ent]]
		if i%100 == 50 && l.Email != "" {
			bounces = append(bounces, esp.Event{Email: l.Email, Timestamp: now.Unix(), Event: "bounce", Type: "bounce",
				Reason: "550 5.1.1 The email account does not exist", Status: "5.1.1", Class: "Invalid Address",
				SGEventID: fmt.Sprintf("list-bounce-%d", ent), SGMessageID: fmt.Sprintf("list-msg-%d.filter0001", ent)})
		}
	}
	if code, err := espSim.SendEvents(ctx, apiURL+"/v1/webhooks/esp/sendgrid", bounces, now, false); err != nil {
		return err
	} else if code != http.StatusOK {
		return fmt.Errorf("ESP webhook answered %d", code)
	}
	say("the ESP reported %d hard bounces (signed event webhook)", len(bounces))

	start = time.Now()
	crun, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "cleaning/demo-list", TaskQueue: workflows.TaskQueue},
		workflows.CleaningName, workflows.CleaningInput{})
	if err != nil {
		return err
	}
	var cs workflows.CleaningSummary
	if err := crun.Get(ctx, &cs); err != nil {
		return err
	}
	say("Cleaning in %s: %d contacts checked, %d changed, %d ages imputed (%d from behaviour); de-duplicated in %d parts of the key space on the kith-dedup task queue (model v%d, %.1f comparisons per contact): %d merged in %d rounds, %d pairs to review; archived: %d hard bounce, %d unsubscribed, %d inactive",
		time.Since(start).Round(100*time.Millisecond), cs.Standardized.Checked, cs.Standardized.Changed, cs.Standardized.Imputed,
		cs.Standardized.ImputedByBehaviour, max(cs.Deduplicated.Parts, 1), cs.Deduplicated.ModelVersion, cs.Deduplicated.Stats.PerRecord,
		cs.Deduplicated.Merges, cs.Deduplicated.Rounds, cs.Deduplicated.Review,
		cs.Archived.HardBounce, cs.Archived.Unsubscribed, cs.Archived.Inactive)

	rows, err := store.ImportedRows(ctx, in.SHA256[:16])
	if err != nil {
		return err
	}
	ids, ents := make([]string, len(labeled)), make([]int, len(labeled))
	res := &dedup.Result{ClusterOf: map[string]string{}}
	for i, l := range labeled {
		ids[i], ents[i] = l.ID, l.Entity
		res.ClusterOf[l.ID] = "row:" + l.ID // a row that made no contact is alone
		if id, ok := rows[i+1]; ok {
			res.ClusterOf[l.ID] = id
		}
	}
	ev := dedup.EvaluateIDs(ids, ents, res)
	say("de-duplication against the generator's truth: precision %.4f recall %.4f F1 %.4f (%d true pairs, %d found, %d correct; %d of %d people with several rows resolved exactly)",
		ev.Precision, ev.Recall, ev.F1, ev.TruePairs, ev.PredictedPairs, ev.CorrectPairs, ev.ExactClusters, ev.MultiRecordPeople)
	return nil
}
