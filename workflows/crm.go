package workflows

import (
	"errors"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
)

// Wire names of the CRM workflows.
const (
	CRMSyncName     = "CRMSync"
	CRMBackfillName = "CRMBackfill"
)

// CRMSyncWorkflowID is the workflow ID of one webhook event: a redelivery of the
// event collapses onto the first.
func CRMSyncWorkflowID(provider string, eventID int64) string {
	return "crm/" + provider + "/" + strconv.FormatInt(eventID, 10)
}

// CRMSyncStartOptions start the sync of one event exactly once: a redelivery while
// it runs joins it, one after it ended is refused (and means done).
func CRMSyncStartOptions(provider string, eventID int64) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       CRMSyncWorkflowID(provider, eventID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
}

// CRMBackfillWorkflowID is the workflow ID of a provider's backfill: one at a time.
func CRMBackfillWorkflowID(provider string) string { return "crm-backfill/" + provider }

// CRMSyncInput is one CRM webhook event.
type CRMSyncInput = kith.CRMSyncEvent

// CRMSyncResult is what a sync did, shown in the Temporal UI.
type CRMSyncResult struct {
	Status      string   `json:"status"` // synced, not_found
	ContactIDs  []string `json:"contact_ids,omitempty"`
	Quarantined int      `json:"quarantined,omitempty"`
}

// crmFetchOptions: CRM APIs rate-limit and have outages; retry 429 and 5xx with
// backoff up to a minute (honouring Retry-After) for a day, never 404 or auth
// failures.
var crmFetchOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy:            backoff(time.Minute, activities.ErrCRMNotFound, activities.ErrCRMUnauthorized),
}

// CRMSync brings Kith up to date with one CRM object: fetch it, standardize and
// upsert it (a deal's or ticket's contacts first), then tell the contacts'
// workflows. A 404 is recorded as not_found; a credentials failure fails the
// workflow with the reason.
func CRMSync(ctx workflow.Context, in CRMSyncInput) (CRMSyncResult, error) {
	var a *activities.CRM
	fetchCtx := workflow.WithActivityOptions(ctx, crmFetchOptions)
	storeCtx := workflow.WithActivityOptions(ctx, profileWriteOptions)

	sync := func(ref activities.ObjectRef) (activities.StoreResult, error) {
		var obj kith.CRMObject
		if err := workflow.ExecuteActivity(fetchCtx, a.FetchObject, ref).Get(ctx, &obj); err != nil {
			return activities.StoreResult{}, err
		}
		var res activities.StoreResult
		for _, cid := range obj.Contacts { // a deal's or ticket's contacts, so it can point at them
			var contact kith.CRMObject
			err := workflow.ExecuteActivity(fetchCtx, a.FetchObject, activities.ObjectRef{Provider: ref.Provider, Type: kith.CRMContact, ID: cid}).Get(ctx, &contact)
			if isCRMNotFound(err) {
				continue // the contact was deleted: the object is stored without it
			}
			if err != nil {
				return res, err
			}
			if err := workflow.ExecuteActivity(storeCtx, a.StoreObject, contact).Get(ctx, &res); err != nil {
				return res, err
			}
		}
		err := workflow.ExecuteActivity(storeCtx, a.StoreObject, obj).Get(ctx, &res)
		return res, err
	}

	res, err := sync(activities.ObjectRef{Provider: in.Provider, Type: in.Type, ID: in.ObjectID})
	if isCRMNotFound(err) {
		return CRMSyncResult{Status: "not_found"}, nil
	}
	if err != nil {
		return CRMSyncResult{}, err
	}
	if workflow.GetVersion(ctx, "search-contacts", workflow.DefaultVersion, 1) >= 1 && len(res.ContactIDs) > 0 {
		// An erasure finds this run's history by the contacts it names.
		if err := workflow.UpsertTypedSearchAttributes(ctx, SearchContacts.ValueSet(res.ContactIDs)); err != nil {
			return CRMSyncResult{}, err
		}
	}
	var c *activities.Contacts
	for _, id := range res.ContactIDs {
		if err := workflow.ExecuteActivity(storeCtx, c.NotifyContact, kith.ProfileChange{
			ContactID: id, Source: kith.SourceCRM, Ref: CRMSyncWorkflowID(in.Provider, in.EventID),
		}).Get(ctx, nil); err != nil {
			return CRMSyncResult{}, err
		}
	}
	return CRMSyncResult{Status: "synced", ContactIDs: res.ContactIDs, Quarantined: res.Quarantined}, nil
}

func isCRMNotFound(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == activities.ErrCRMNotFound
}

// CRMBackfillInput configures a backfill; the totals carry across continue-as-new.
type CRMBackfillInput struct {
	Provider         string `json:"provider"`
	PageSize         int    `json:"page_size,omitempty"`          // default 100
	PagesPerActivity int    `json:"pages_per_activity,omitempty"` // default 10
	PagesPerRun      int    `json:"pages_per_run,omitempty"`      // continue-as-new after this many (default 100)
	Pages            int    `json:"pages,omitempty"`              // so far, across runs
	Contacts         int    `json:"contacts,omitempty"`
	Quarantined      int    `json:"quarantined,omitempty"`
	// Baseline is the cursor's totals when the backfill began; the summary is the
	// committed totals less it, exact even after a worker died mid-activity.
	Baseline *kith.CRMTotals `json:"baseline,omitempty"`
}

// CRMBackfillResult is a backfill's summary.
type CRMBackfillResult struct {
	Pages       int            `json:"pages"`
	Contacts    int            `json:"contacts"`
	Quarantined int            `json:"quarantined"`
	Cursor      kith.CRMCursor `json:"cursor"`
}

// crmBackfillOptions: a backfill activity pulls several pages and heartbeats after
// each committed one; a dead worker is noticed within 30 s and the retry resumes
// from the committed cursor.
var crmBackfillOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Hour,
	HeartbeatTimeout:    30 * time.Second,
	RetryPolicy:         backoff(time.Minute, activities.ErrCRMUnauthorized),
}

// CRMBackfill pulls every contact changed since the provider's cursor, page by
// page, until the CRM has no more; it continues as new every PagesPerRun pages.
func CRMBackfill(ctx workflow.Context, in CRMBackfillInput) (CRMBackfillResult, error) {
	if in.PageSize <= 0 {
		in.PageSize = 100
	}
	if in.PagesPerActivity <= 0 {
		in.PagesPerActivity = 10
	}
	if in.PagesPerRun <= 0 {
		in.PagesPerRun = 100
	}
	ctx = workflow.WithActivityOptions(ctx, crmBackfillOptions)
	var a *activities.CRM
	if in.Baseline == nil && workflow.GetVersion(ctx, "backfill-baseline", workflow.DefaultVersion, 1) == 1 {
		var cur kith.CRMCursor
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, profileWriteOptions), a.BackfillStart, in.Provider).Get(ctx, &cur); err != nil {
			return CRMBackfillResult{}, err
		}
		// A run continued from a backfill begun before baselines carries that
		// backfill's counts: they are part of the cursor's totals already, so the
		// baseline lies that far back.
		base := cur.Totals.Minus(kith.CRMTotals{Pages: in.Pages, Contacts: in.Contacts, Quarantined: in.Quarantined})
		in.Baseline = &base
	}
	run := 0
	for {
		var p activities.BackfillProgress
		err := workflow.ExecuteActivity(ctx, a.BackfillPages, activities.BackfillInput{
			Provider: in.Provider, Pages: in.PagesPerActivity, PageSize: in.PageSize,
		}).Get(ctx, &p)
		if err != nil {
			return CRMBackfillResult{}, err
		}
		run += p.Pages
		if in.Baseline != nil {
			t := p.Cursor.Totals.Minus(*in.Baseline)
			in.Pages, in.Contacts, in.Quarantined = t.Pages, t.Contacts, t.Quarantined
		} else { // begun before baselines: the activities' own counts
			in.Pages, in.Contacts, in.Quarantined = in.Pages+p.Pages, in.Contacts+p.Contacts, in.Quarantined+p.Quarantined
		}
		if p.Done {
			return CRMBackfillResult{Pages: in.Pages, Contacts: in.Contacts, Quarantined: in.Quarantined, Cursor: p.Cursor}, nil
		}
		if run >= in.PagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return CRMBackfillResult{}, workflow.NewContinueAsNewError(ctx, CRMBackfillName, in)
		}
	}
}
