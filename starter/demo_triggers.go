package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/esp/espsim"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/workflows"
)

// demoTriggers shows personalization triggers through the public paths: the
// welcome rule sent Grace's welcome through the ESP simulator when she
// confirmed her opt-in; her Product Viewed left browse abandonment waiting;
// the ESP's signed event webhook then reports delivery and opens (stored once
// however often it is redelivered, a privacy proxy's open flagged), a forged
// delivery is refused, and a hard bounce suppresses her address and withdraws
// her consent, which cancels the waiting trigger at once.
func demoTriggers(ctx context.Context, c client.Client, sim *espsim.Sim, api string, store *postgres.Store, grace string, w io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(w, "==> "+format+"\n", a...) }
	var welcome espsim.Sent
	if err := waitFor(ctx, 30*time.Second, func() bool {
		for _, m := range sim.Sent() {
			if m.Args[esp.ArgContact] == grace && m.TemplateID == "welcome" {
				welcome = m
				return true
			}
		}
		return false
	}); err != nil {
		return fmt.Errorf("the welcome message never reached the ESP simulator")
	}
	say("trigger rule welcome (schemas/triggers/welcome.json): Grace's confirmation sent template %q through the ESP simulator, delivery %s",
		welcome.TemplateID, welcome.Args[esp.ArgDelivery])
	fields := kith.SortedKeys(welcome.Data["contact"].(map[string]any))
	say("  its data: the fields email_marketing allows %v, signed unsubscribe and profile links, the triggering event", fields)

	v, err := contactView(ctx, c, grace)
	if err != nil {
		return err
	}
	for _, p := range v.Triggers.Pending {
		say("pending trigger %s: started by %s, due %s (KithPendingTriggers in the Temporal UI)", p.Rule, p.Events[0].Type, p.DueAt.Local().Format("Jan 2 15:04:05"))
	}

	hook := api + "/v1/webhooks/esp/sendgrid"
	events := sim.Events(welcome, time.Now(), "delivered", "open", "machine_open", "click")
	code, err := sim.SendEvents(ctx, hook, events, time.Now(), true)
	if err != nil {
		return err
	}
	say("ESP event webhook signed with another key: %d", code)
	for i := range 3 {
		code, err := sim.SendEvents(ctx, hook, events, time.Now(), false)
		if err != nil {
			return err
		}
		say("ESP event webhook (SendGrid Signed Event Webhook, ECDSA), delivery %d of the same 4 events: %d", i+1, code)
	}
	counts, err := store.EventCounts(ctx)
	if err != nil {
		return err
	}
	var email []string
	for _, c := range counts {
		if strings.HasPrefix(c.Type, "Email ") {
			who := ""
			if c.Machine {
				who = " (machine)"
			}
			email = append(email, fmt.Sprintf("%s%s %d", c.Type, who, c.N))
		}
	}
	say("email events stored (the pixel's and the ESP's, each once): %s", strings.Join(email, ", "))

	code, err = sim.SendEvents(ctx, hook, sim.Events(welcome, time.Now(), "hard_bounce"), time.Now(), false)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, 20*time.Second, func() bool {
		v, err = contactView(ctx, c, grace)
		return err == nil && !slices.ContainsFunc(v.Triggers.Pending, func(p workflows.PendingTrigger) bool { return p.Purpose == "email_marketing" })
	}); err != nil {
		return fmt.Errorf("the bounce did not cancel the pending triggers")
	}
	var cancelled []string
	for _, o := range v.Triggers.Outcomes {
		if o.Status == workflows.TriggerCancelled && strings.HasPrefix(o.Reason, "consent ") {
			cancelled = append(cancelled, o.Rule+" ("+o.Reason+")")
		}
	}
	say("a hard bounce: %d; the address is suppressed, email marketing withdrawn (source esp), pending triggers cancelled: %s", code, strings.Join(cancelled, ", "))
	ds, err := store.ListDeliveries(ctx, "", 10)
	if err != nil {
		return err
	}
	say("deliveries (starter deliveries list):")
	for _, d := range ds {
		fmt.Fprintf(w, "  %s  %-9s %s\n", d.ID, d.Status, d.Rule)
	}
	return nil
}

// contactView is the contact's state as its workflow's state query shows it.
func contactView(ctx context.Context, c client.Client, contactID string) (workflows.ContactView, error) {
	var v workflows.ContactView
	q, err := c.QueryWorkflow(ctx, workflows.ContactWorkflowID(contactID), "", workflows.QueryState)
	if err == nil {
		err = q.Get(&v)
	}
	return v, err
}

// waitFor polls cond until it holds or the time is up.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
