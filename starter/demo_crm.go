package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/workflows"
)

// demoCRM shows the CRM integration against the simulator: a signed webhook for
// a purchase synced through a rate-limited API, the same delivery again, a
// backfill of every CRM contact, and the backfill's schedule.
func demoCRM(ctx context.Context, c client.Client, sim *crmsim.Sim, apiURL string, store *postgres.Store, e env) error {
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }
	hook := apiURL + "/v1/webhooks/crm/hubspot"
	deal := sim.Objects("deals")[0]
	eventID := time.Now().UnixNano()
	sim.Fail(429, 2, 1) // the CRM says "slow down" twice

	if code, err := sim.SendWebhook(ctx, hook, []crmsim.Event{{EventID: eventID, SubscriptionType: "deal.creation", ObjectID: deal}}, time.Now(), true); err != nil {
		return err
	} else {
		say("CRM webhook with a bad signature: %d", code)
	}
	for i := range 2 {
		code, err := sim.SendWebhook(ctx, hook, []crmsim.Event{{EventID: eventID, SubscriptionType: "deal.creation", ObjectID: deal}}, time.Now(), false)
		if err != nil {
			return err
		}
		say("CRM webhook for deal %s (delivery %d): %d", deal, i+1, code)
	}
	var res workflows.CRMSyncResult
	wid := workflows.CRMSyncWorkflowID("hubspot", eventID)
	if err := c.GetWorkflow(ctx, wid, "").Get(ctx, &res); err != nil {
		return err
	}
	orders, err := store.OrderCount(ctx)
	if err != nil {
		return err
	}
	say("CRMSync %s: %s after two 429s from the CRM (see the retries in its history); %d order stored", wid, res.Status, orders)

	say("backfilling every CRM contact (CRMBackfill, cursor committed with each page)")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.CRMBackfillWorkflowID("hubspot"), TaskQueue: workflows.TaskQueue},
		workflows.CRMBackfillName, workflows.CRMBackfillInput{Provider: "hubspot", PageSize: 100})
	if err != nil {
		return err
	}
	var bf workflows.CRMBackfillResult
	if err := run.Get(ctx, &bf); err != nil {
		return err
	}
	say("backfill done: %d pages, %d contacts, %d with values quarantined", bf.Pages, bf.Contacts, bf.Quarantined)
	if err := applyBackfillSchedule(ctx, c, workflows.CRMBackfillInput{Provider: "hubspot", PageSize: 100}, time.Hour, e); err != nil {
		return err
	}
	return nil
}
