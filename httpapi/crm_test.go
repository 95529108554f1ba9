package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/workflows"
)

var eventSeq = time.Now().UnixNano() % 1e9 // event ids unique across runs on one server

func nextEvent() int64 { eventSeq++; return eventSeq }

func (k *kithEnv) deliver(t *testing.T, provider string, events []crmsim.Event, at time.Time, bad bool) int {
	t.Helper()
	code, err := k.Sim.SendWebhook(context.Background(), k.URL+"/v1/webhooks/crm/"+provider, events, at, bad)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// syncResult waits for the CRMSync of an event and returns its result.
func (k *kithEnv) syncResult(t *testing.T, provider string, eventID int64) (workflows.CRMSyncResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var res workflows.CRMSyncResult
	err := k.Client.GetWorkflow(ctx, workflows.CRMSyncWorkflowID(provider, eventID), "").Get(ctx, &res)
	return res, err
}

func TestWebhookWithBadOrStaleSignatureStartsNothing(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	contact := k.Sim.Objects("contacts")[0]
	for name, tc := range map[string]struct {
		at  time.Time
		bad bool
	}{
		"bad signature":   {time.Now(), true},
		"stale timestamp": {time.Now().Add(-6 * time.Minute), false},
	} {
		id := nextEvent()
		if code := k.deliver(t, "hubspot", []crmsim.Event{{EventID: id, SubscriptionType: "contact.creation", ObjectID: contact}}, tc.at, tc.bad); code != 401 {
			t.Errorf("%s: answered %d, want 401", name, code)
		}
		_, err := k.Client.DescribeWorkflowExecution(context.Background(), workflows.CRMSyncWorkflowID("hubspot", id), "")
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			t.Errorf("%s: a workflow exists (%v)", name, err)
		}
	}
	if n := k.count(t, `SELECT count(*) FROM contacts`); n != 0 {
		t.Errorf("%d contacts stored", n)
	}
	if n := k.Sim.Requests("GET /crm"); n != 0 {
		t.Errorf("the CRM was called %d times", n)
	}
}

func TestWebhookDeliveredThreeTimesSyncsOnce(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	deal := k.Sim.Objects("deals")[0]
	id := nextEvent()
	ev := []crmsim.Event{{EventID: id, SubscriptionType: "deal.creation", ObjectID: deal}}
	for i := range 3 {
		if code := k.deliver(t, "hubspot", ev, time.Now(), false); code != 200 {
			t.Fatalf("delivery %d answered %d", i+1, code)
		}
		if i == 1 { // the third arrives after the sync finished
			if res, err := k.syncResult(t, "hubspot", id); err != nil || res.Status != "synced" || len(res.ContactIDs) != 1 {
				t.Fatalf("sync: %+v, %v", res, err)
			}
		}
	}
	resp, err := k.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", workflows.CRMSyncWorkflowID("hubspot", id)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Executions) != 1 {
		t.Errorf("%d executions of the event's sync, want 1", len(resp.Executions))
	}
	orders := k.count(t, `SELECT count(*) FROM orders WHERE provider = 'hubspot' AND external_id = $1`, deal)
	contacts := k.count(t, `SELECT count(*) FROM contacts`)
	linked := k.count(t, `SELECT count(*) FROM orders o JOIN identities i ON i.contact_id = o.contact_id AND i.kind = 'crm'`)
	if orders != 1 || contacts != 1 || linked != 1 {
		t.Errorf("%d orders, %d contacts, %d orders linked to their contact; want 1 each", orders, contacts, linked)
	}
	var amount int64
	k.Store.DB().Get(&amount, `SELECT amount_cents FROM orders`)
	if amount <= 0 {
		t.Errorf("order amount %d", amount)
	}
	// The won deal is an Order Completed for the contact (trigger rules take
	// it, e.g. the post-purchase follow-up), stored once, queued once.
	if n := k.count(t, `SELECT count(*) FROM events WHERE type = 'Order Completed' AND source = 'crm' AND contact_id IS NOT NULL
		AND (properties ->> 'total')::numeric * 100 = $1`, amount); n != 1 {
		t.Errorf("%d Order Completed events for the won deal, want 1", n)
	}
	recordHistory(t, k, workflows.CRMSyncWorkflowID("hubspot", id), "", "crm_sync_deal_contacts.json")
}

func TestCRMRateLimitIsRetriedAndVisible(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	contact := k.Sim.Objects("contacts")[1]
	k.Sim.Fail(429, 2, 1) // twice "slow down, retry in 1 s", then normal answers
	id := nextEvent()
	if code := k.deliver(t, "hubspot", []crmsim.Event{{EventID: id, SubscriptionType: "contact.propertyChange", ObjectID: contact}}, time.Now(), false); code != 200 {
		t.Fatalf("delivery answered %d", code)
	}
	res, err := k.syncResult(t, "hubspot", id)
	if err != nil || res.Status != "synced" || len(res.ContactIDs) != 1 {
		t.Fatalf("sync: %+v, %v", res, err)
	}
	// The history shows the fetch took three attempts and why.
	it := k.Client.GetWorkflowHistory(context.Background(), workflows.CRMSyncWorkflowID("hubspot", id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	attempts, lastFailure := int32(0), ""
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if s := e.GetActivityTaskStartedEventAttributes(); s != nil && attempts == 0 {
			attempts = s.Attempt
			lastFailure = s.GetLastFailure().GetMessage()
		}
	}
	if attempts != 3 || !strings.Contains(lastFailure, "429") {
		t.Errorf("first activity: attempt %d, last failure %q; want attempt 3 after two 429s", attempts, lastFailure)
	}
	if n := k.count(t, `SELECT count(*) FROM contacts WHERE phone IS NOT NULL`); n != 1 {
		t.Errorf("%d contacts stored", n)
	}
	recordHistory(t, k, workflows.CRMSyncWorkflowID("hubspot", id), "", "crm_sync_rate_limited.json")
	// The contact's workflow was told, and reloaded the CRM's profile.
	eventually(t, "the contact's workflow has the CRM profile", func() bool {
		v := queryContact(t, k, res.ContactIDs[0])
		return v.Fields["email"].Value != "" && v.Source == "crm" && v.Completeness > 0
	})
}

func TestCRMNotFoundIsRecordedAndBadTokenFails(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	gone := nextEvent()
	if code := k.deliver(t, "hubspot", []crmsim.Event{{EventID: gone, SubscriptionType: "contact.creation", ObjectID: "999999"}}, time.Now(), false); code != 200 {
		t.Fatalf("delivery answered %d", code)
	}
	if res, err := k.syncResult(t, "hubspot", gone); err != nil || res.Status != "not_found" {
		t.Errorf("missing object: %+v, %v", res, err)
	}
	locked := nextEvent()
	if code := k.deliver(t, "locked", []crmsim.Event{{EventID: locked, SubscriptionType: "contact.creation", ObjectID: k.Sim.Objects("contacts")[0]}}, time.Now(), false); code != 200 {
		t.Fatalf("delivery answered %d", code)
	}
	_, err := k.syncResult(t, "locked", locked)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrCRMUnauthorized || !strings.Contains(app.Error(), "401") {
		t.Errorf("bad token: %v, want a %s failure", err, activities.ErrCRMUnauthorized)
	}
	if k.Sim.Requests("GET /crm/v3/objects/contacts/") != 2 {
		t.Errorf("%d CRM calls, want 2 (neither retried)", k.Sim.Requests("GET /crm/v3/objects/contacts/"))
	}
}
