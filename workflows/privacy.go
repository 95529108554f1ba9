package workflows

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
)

// ErasureName is the wire name of Erasure.
const ErasureName = "Erasure"

// ErasureWorkflowID is the workflow ID of a contact's erasure: one per contact,
// so a second request joins the first or finds it done.
func ErasureWorkflowID(contactID string) string { return "erasure/" + contactID }

// ErasureStartOptions start (or join) a contact's erasure.
func ErasureStartOptions(contactID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       ErasureWorkflowID(contactID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// SearchContacts lists the contacts a CRM sync stored: how an erasure finds
// the finished syncs whose histories name the person.
var SearchContacts = temporal.NewSearchAttributeKeyKeywordList("KithContacts")

// erasureOptions: every step is idempotent and retried until it is done (a
// database or Temporal restart holds an erasure up, never ends it).
var erasureOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Minute,
	HeartbeatTimeout:    time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrNotFound}},
}

// Erasure removes a contact from every store (the right to be forgotten): its
// workflow is stopped so nothing writes it back, PostgreSQL deletes it and
// everything naming it in one transaction (its identifiers kept only as keyed
// hashes, so re-ingestion is refused), BigQuery deletes its rows, the raw
// lake's objects are rewritten without its lines, and Temporal
// deletes every run of its workflows. The receipt counts what went where.
// Done again, it returns the first receipt.
func Erasure(ctx workflow.Context, in activities.EraseRequest) (kith.ErasureReceipt, error) {
	ctx = workflow.WithActivityOptions(ctx, erasureOptions)
	var a *activities.Privacy
	var r kith.ErasureReceipt
	if err := workflow.ExecuteActivity(ctx, a.BeginErasure, in).Get(ctx, &r); err != nil || !r.CompletedAt.IsZero() {
		return r, err
	}
	contacts := []string{in.ContactID}
	if workflow.GetVersion(ctx, "erase-whole-person", workflow.DefaultVersion, 1) >= 1 {
		// The person: the contact's survivor and every contact merged into it.
		if err := workflow.ExecuteActivity(ctx, a.ErasureContacts, in.ContactID).Get(ctx, &contacts); err != nil {
			return r, err
		}
		if !slices.Contains(contacts, in.ContactID) {
			contacts = append(contacts, in.ContactID) // already gone from PostgreSQL (a resumed erasure)
		}
	}
	var deliveries []string
	if err := workflow.ExecuteActivity(ctx, a.ErasureDeliveries, in.ContactID).Get(ctx, &deliveries); err != nil {
		return r, err
	}
	histories := activities.EraseHistoriesInput{ContactID: in.ContactID, SearchAttribute: SearchContacts.GetName()}
	if len(contacts) > 1 {
		histories.ContactIDs = contacts
	}
	for _, c := range contacts {
		histories.WorkflowIDs = append(histories.WorkflowIDs, ContactWorkflowID(c))
	}
	for _, d := range deliveries {
		histories.WorkflowIDs = append(histories.WorkflowIDs, RetryDeliveryID(d))
	}
	type step struct {
		activity any
		arg      any
	}
	var steps []step
	for _, c := range contacts {
		steps = append(steps, step{a.StopWorkflow, ContactWorkflowID(c)})
	}
	steps = append(steps, []step{
		{a.ErasePostgres, in.ContactID},
		{a.EraseWarehouse, in.ContactID},
	}...)
	if workflow.GetVersion(ctx, "erase-lake", workflow.DefaultVersion, 1) >= 1 {
		// After PostgreSQL's step, which recorded the hashes of the person's
		// identifiers the lake's objects are searched by.
		var lake *activities.Lake
		steps = append(steps, step{lake.EraseLake, in.ContactID})
	}
	for _, step := range append(steps, step{a.EraseHistories, histories}) {
		if err := workflow.ExecuteActivity(ctx, step.activity, step.arg).Get(ctx, nil); err != nil {
			return r, err
		}
	}
	err := workflow.ExecuteActivity(ctx, a.CompleteErasure, in.ContactID).Get(ctx, &r)
	return r, err
}

// PrivacyService implements kith.Privacy on Temporal.
type PrivacyService struct {
	Client client.Client
	Store  kith.ErasureStore
	// Wait bounds how long Erase waits for the erasure (default 20 s).
	Wait time.Duration
}

// Erase implements kith.Privacy.
func (s *PrivacyService) Erase(ctx context.Context, contactID, requestedBy string) (kith.ErasureReceipt, error) {
	r, err := s.Store.BeginErasure(ctx, contactID, requestedBy) // CodeNotFound for an unknown contact
	if err != nil || !r.CompletedAt.IsZero() {
		return r, err
	}
	run, err := s.Client.ExecuteWorkflow(ctx, ErasureStartOptions(contactID), ErasureName, activities.EraseRequest{ContactID: contactID, RequestedBy: requestedBy})
	if err != nil {
		return r, err
	}
	wctx, cancel := context.WithTimeout(ctx, cmp.Or(s.Wait, 20*time.Second))
	defer cancel()
	var late *serviceerror.DeadlineExceeded
	if err := run.Get(wctx, &r); err != nil && wctx.Err() == nil && !errors.As(err, &late) && !errors.Is(err, context.DeadlineExceeded) {
		return r, err // failed; a wait that ran out is an erasure still running
	}
	return s.Store.Erasure(ctx, contactID)
}

// Erasure implements kith.Privacy.
func (s *PrivacyService) Erasure(ctx context.Context, contactID string) (kith.ErasureReceipt, error) {
	return s.Store.Erasure(ctx, contactID)
}
