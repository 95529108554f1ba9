package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// Application error types of CRM activities, as ops see them in the Temporal UI.
const (
	ErrCRMNotFound     = "CRMNotFound"     // the object is gone: recorded, not retried
	ErrCRMUnauthorized = "CRMUnauthorized" // the token is wrong: not retried
	ErrCRMUnavailable  = "CRMUnavailable"  // 429 or 5xx: retried, after Retry-After
)

// CRM syncs CRM objects into the store.
type CRM struct {
	Clients map[string]kith.CRM // by provider name
	Store   kith.CRMStore
	// Quality reads national phones and dates (DefaultRegion).
	Quality quality.Options
	// Now is the day birth dates are checked against.
	Now func() time.Time
	// Lake keeps every object fetched for the raw lake (nil: none kept).
	Lake kith.LakeSpool
}

// ObjectRef names one CRM object.
type ObjectRef struct {
	Provider string `json:"provider"`
	Type     string `json:"type"`
	ID       string `json:"id"`
}

// FetchObject reads one object from its CRM.
func (a *CRM) FetchObject(ctx context.Context, ref ObjectRef) (kith.CRMObject, error) {
	c, err := a.client(ref.Provider)
	if err != nil {
		return kith.CRMObject{}, err
	}
	obj, err := c.Object(ctx, ref.Type, ref.ID)
	if err != nil {
		return obj, crmFailure(err)
	}
	obj.Provider = ref.Provider
	return obj, nil
}

func (a *CRM) client(provider string) (kith.CRM, error) {
	c, ok := a.Clients[provider]
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError("no CRM client configured for "+provider, ErrCRMUnauthorized, nil)
	}
	return c, nil
}

// crmFailure classifies a CRM error for Temporal's retries.
func crmFailure(err error) error {
	var ce *kith.APIError
	if !errors.As(err, &ce) {
		return err // network trouble: retried
	}
	switch {
	case ce.Status == 404:
		return temporal.NewNonRetryableApplicationError(ce.Error(), ErrCRMNotFound, nil)
	case ce.Status == 401 || ce.Status == 403:
		return temporal.NewNonRetryableApplicationError(ce.Error()+" — check the CRM access token", ErrCRMUnauthorized, nil)
	case ce.Retryable():
		return temporal.NewApplicationErrorWithOptions(ce.Error(), ErrCRMUnavailable, temporal.ApplicationErrorOptions{NextRetryDelay: ce.RetryAfter})
	}
	return temporal.NewNonRetryableApplicationError(ce.Error(), "CRMRefused", nil)
}

// StoreResult says which Kith contacts an object touched.
type StoreResult struct {
	ContactIDs  []string `json:"contact_ids"`
	Quarantined int      `json:"quarantined"`
}

// StoreObject standardizes an object (contacts through quality.Record) and
// upserts it; values quality refuses are quarantined with their reasons, the rest
// stored.
func (a *CRM) StoreObject(ctx context.Context, obj kith.CRMObject) (StoreResult, error) {
	in, q := a.standardize(obj)
	var res StoreResult
	if q != nil {
		if err := a.Store.Quarantine(ctx, []kith.Quarantined{*q}); err != nil {
			return res, err
		}
		res.Quarantined = 1
	}
	ids, err := a.Store.StoreCRMObject(ctx, obj, in)
	res.ContactIDs = ids
	if err != nil {
		return res, err
	}
	if err := a.archive(ctx, activity.GetInfo(ctx).WorkflowExecution.ID, []kith.CRMObject{obj}, []*kith.Quarantined{q}); err != nil {
		return res, err
	}
	if evs := obj.Events(ids); len(evs) > 0 {
		relay := make([]bool, len(evs))
		for i := range relay {
			relay[i] = true
		}
		if _, err := a.Store.AppendEvents(ctx, evs, relay); err != nil {
			return res, err
		}
	}
	return res, nil
}

// standardize turns a CRM contact into a ContactInput with CRM provenance, and
// its refused values into a quarantine entry.
func (a *CRM) standardize(obj kith.CRMObject) (kith.ContactInput, *kith.Quarantined) {
	in := kith.ContactInput{Fields: map[kith.Field]kith.Value{}}
	if obj.Type != kith.CRMContact {
		return in, nil
	}
	opts := a.Quality
	if a.Now != nil {
		opts.Now = a.Now()
	}
	res := quality.Record(obj.Fields, opts)
	in.Fields = res.Values(kith.Provenance{Source: kith.SourceCRM, Ref: obj.Provider + ":contact:" + obj.ID, At: obj.UpdatedAt}, nil)
	rejects, findings := res.Violations.Split()
	in.Findings = findings
	if len(rejects) == 0 {
		return in, nil
	}
	at := obj.UpdatedAt.Format(time.RFC3339Nano)
	q := kith.Quarantine(kith.SourceCRM, fmt.Appendf(nil, "%s contact %s at %s", obj.Provider, obj.ID, at), rejects,
		obj.Provider, "contact", obj.ID, at)
	return in, &q
}

// BackfillInput asks for up to Pages pages of contacts changed since the stored
// cursor.
type BackfillInput struct {
	Provider string `json:"provider"`
	Pages    int    `json:"pages"`
	PageSize int    `json:"page_size"`
}

// BackfillProgress is what a backfill activity did; it is also its heartbeat.
type BackfillProgress struct {
	Cursor      kith.CRMCursor `json:"cursor"`
	Pages       int            `json:"pages"`
	Contacts    int            `json:"contacts"`
	Quarantined int            `json:"quarantined"`
	Done        bool           `json:"done"` // the query is exhausted
}

// BackfillStart reads the provider's cursor before a backfill: its totals are the
// backfill's baseline.
func (a *CRM) BackfillStart(ctx context.Context, provider string) (kith.CRMCursor, error) {
	return a.Store.CRMCursor(ctx, provider)
}

// BackfillPages pulls pages of contacts changed since the cursor and commits each
// page with the advanced cursor in one transaction, heartbeating after each: a
// retry on another worker resumes from the committed cursor.
func (a *CRM) BackfillPages(ctx context.Context, in BackfillInput) (BackfillProgress, error) {
	c, err := a.client(in.Provider)
	if err != nil {
		return BackfillProgress{}, err
	}
	cur, err := a.Store.CRMCursor(ctx, in.Provider)
	if err != nil {
		return BackfillProgress{}, err
	}
	// The committed cursor says where to go on; the last attempt's heartbeat, what
	// it already did (its totals may miss the page it committed as it died: the
	// store, not this summary, is the record).
	p := BackfillProgress{}
	if activity.HasHeartbeatDetails(ctx) {
		activity.GetHeartbeatDetails(ctx, &p)
	}
	p.Cursor = cur
	for p.Pages < in.Pages {
		page, err := c.ContactsModifiedSince(ctx, cur.Since, cur.After, in.PageSize)
		if err != nil {
			return p, crmFailure(err)
		}
		var contacts []kith.ContactInput
		var ids []string
		var q []kith.Quarantined
		refused := make([]*kith.Quarantined, len(page.Objects))
		next := cur
		next.After = page.Next
		for i, obj := range page.Objects {
			obj.Provider = in.Provider
			page.Objects[i].Provider = in.Provider
			ci, bad := a.standardize(obj)
			contacts, ids = append(contacts, ci), append(ids, obj.ID)
			if bad != nil {
				q = append(q, *bad)
				refused[i] = bad
			}
			if obj.UpdatedAt.After(next.MaxSeen) {
				next.MaxSeen = obj.UpdatedAt
			}
		}
		if page.Next == "" { // this query is done; the next one starts at the newest change seen
			next = kith.CRMCursor{Since: next.MaxSeen, MaxSeen: next.MaxSeen}
		}
		// Spooled before the commit: a page fetched again after a crash is
		// the same objects at the same versions, spooled once.
		if err := a.archive(ctx, fmt.Sprintf("crm-backfill/%s/%s", in.Provider, cur.After), page.Objects, refused); err != nil {
			return p, err
		}
		if err := a.Store.CommitCRMPage(ctx, in.Provider, cur, next, contacts, ids, q); err != nil {
			return p, err
		}
		next.Totals = kith.CRMTotals{Pages: cur.Totals.Pages + 1, Contacts: cur.Totals.Contacts + len(contacts),
			Quarantined: cur.Totals.Quarantined + len(q)} // as the commit counted them
		cur = next
		p.Cursor, p.Pages, p.Contacts, p.Quarantined = cur, p.Pages+1, p.Contacts+len(contacts), p.Quarantined+len(q)
		activity.RecordHeartbeat(ctx, p)
		if page.Next == "" {
			p.Done = true
			break
		}
	}
	return p, nil
}

// archive spools fetched objects for the raw lake, each once per version (its
// update time), with the verdict its standardization gave.
func (a *CRM) archive(ctx context.Context, requestID string, objs []kith.CRMObject, refused []*kith.Quarantined) error {
	if a.Lake == nil {
		return nil
	}
	now := time.Now().UTC()
	lines := make([]kith.LakeLine, 0, len(objs))
	for i, obj := range objs {
		payload, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		ref := obj.Provider + ":" + obj.Type + ":" + obj.ID
		l := kith.LakeLine{ReceivedAt: now, Source: kith.LakeCRMObject, RequestID: requestID, Ref: ref,
			Verdict: kith.VerdictAccepted, Payload: payload, SpoolKey: ref + "@" + obj.UpdatedAt.UTC().Format(time.RFC3339Nano)}
		if refused[i] != nil {
			l.Verdict, l.Codes = kith.VerdictQuarantined, refused[i].Violations.Codes()
		}
		lines = append(lines, l)
	}
	return a.Lake.SpoolLines(ctx, lines)
}
