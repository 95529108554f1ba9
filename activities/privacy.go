package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
)

// Privacy erases a contact from PostgreSQL, the warehouse and Temporal. Each
// activity is idempotent: a retry after a crash finds its work done and
// returns what was recorded.
type Privacy struct {
	Store kith.ErasureStore
	// Warehouse is the star schema (nil: a deployment without BigQuery).
	Warehouse kith.WarehouseEraser
	Temporal  client.Client
	Namespace string
}

// ErrNotFound is the type of a failure to find what an activity was asked for.
const ErrNotFound = "kith.not_found"

// EraseRequest names the contact to erase and who asked.
type EraseRequest struct {
	ContactID   string `json:"contact_id"`
	RequestedBy string `json:"requested_by"`
}

// BeginErasure records the request; the receipt says what is done already.
func (a *Privacy) BeginErasure(ctx context.Context, in EraseRequest) (kith.ErasureReceipt, error) {
	r, err := a.Store.BeginErasure(ctx, in.ContactID, in.RequestedBy)
	if kith.ErrorCode(err) == kith.CodeNotFound {
		return r, temporal.NewNonRetryableApplicationError(err.Error(), ErrNotFound, nil)
	}
	return r, err
}

// ErasureContacts lists the person's contacts: the survivor and every
// contact merged into it (each has a workflow to stop and delete).
func (a *Privacy) ErasureContacts(ctx context.Context, contactID string) ([]string, error) {
	return a.Store.ErasureContacts(ctx, contactID)
}

// ErasureDeliveries lists the contact's deliveries (their replays are
// workflows to delete).
func (a *Privacy) ErasureDeliveries(ctx context.Context, contactID string) ([]string, error) {
	return a.Store.ErasureDeliveries(ctx, contactID)
}

// StopWorkflow terminates a running workflow (the contact's, so nothing
// writes the contact back while it is erased).
func (a *Privacy) StopWorkflow(ctx context.Context, workflowID string) error {
	err := a.Temporal.TerminateWorkflow(ctx, workflowID, "", "being erased at the person's request")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// ErasePostgres deletes the contact from PostgreSQL.
func (a *Privacy) ErasePostgres(ctx context.Context, contactID string) (kith.ErasureStep, error) {
	return a.Store.ErasePostgres(ctx, contactID)
}

// EraseWarehouse deletes the erased rows from the star schema and detaches the
// contact's orders there.
func (a *Privacy) EraseWarehouse(ctx context.Context, contactID string) (kith.ErasureStep, error) {
	step := kith.ErasureStep{Store: kith.ErasureStoreBigQuery, Removed: map[string]int64{}, Detached: map[string]int64{}, At: time.Now().UTC()}
	if a.Warehouse == nil {
		step.Note = "no warehouse is configured for this worker: nothing loaded, nothing to delete"
		return step, a.Store.RecordErasureStep(ctx, contactID, step)
	}
	pending, err := a.Store.PendingWarehouseErasures(ctx, contactID)
	if err != nil {
		return step, err
	}
	if ids := pending["dim_contact"]; len(ids) > 0 {
		n, err := a.Warehouse.DetachOrders(ctx, ids)
		if err != nil {
			return step, err
		}
		step.Detached["fact_order"] = n
	}
	if n, err := a.Warehouse.DropLakeTables(ctx); err != nil {
		return step, err
	} else if n > 0 {
		step.Removed["lake_scratch_tables"] = n
	}
	for _, table := range kith.SortedKeys(pending) {
		n, err := a.Warehouse.EraseRows(ctx, table, pending[table])
		if err != nil {
			return step, err
		}
		step.Removed[table] = n
		if err := a.Store.WarehouseErased(ctx, contactID, table); err != nil {
			return step, err
		}
	}
	return step, a.Store.RecordErasureStep(ctx, contactID, step)
}

// EraseHistoriesInput names the workflows whose histories name the contact.
type EraseHistoriesInput struct {
	ContactID string `json:"contact_id"`
	// ContactIDs are the person's contacts whose CRM syncs name them (only
	// ContactID when empty: erasures begun before merged contacts counted).
	ContactIDs []string `json:"contact_ids,omitempty"`
	// WorkflowIDs are the contact's own workflow and its deliveries' replays.
	WorkflowIDs []string `json:"workflow_ids"`
	// SearchAttribute finds the other runs that name it (CRM syncs).
	SearchAttribute string `json:"search_attribute"`
}

// EraseHistories terminates the contact's running workflows and deletes every
// run of them (and of the runs the search attribute finds), waiting until
// Temporal lists none.
func (a *Privacy) EraseHistories(ctx context.Context, in EraseHistoriesInput) (kith.ErasureStep, error) {
	step := kith.ErasureStep{Store: kith.ErasureStoreTemporal, Removed: map[string]int64{}, At: time.Now().UTC()}
	named := in.ContactIDs
	if len(named) == 0 {
		named = []string{in.ContactID}
	}
	var query string
	for i, id := range named {
		if i > 0 {
			query += " OR "
		}
		query += fmt.Sprintf("%s = %q", in.SearchAttribute, id)
	}
	for _, id := range in.WorkflowIDs {
		query += fmt.Sprintf(" OR WorkflowId = %q", id)
	}
	deleted := map[string]bool{} // run ids: deletion is asynchronous, a run is listed until it is gone
	for {
		runs, err := a.list(ctx, query)
		if err != nil {
			return step, err
		}
		if len(runs) == 0 {
			break
		}
		for _, r := range runs {
			activity.RecordHeartbeat(ctx, step.Removed["executions"])
			err := a.Temporal.TerminateWorkflow(ctx, r.GetWorkflowId(), r.GetRunId(), "erased at the person's request")
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) && !isAlreadyCompleted(err) {
				return step, fmt.Errorf("terminate %s: %w", r.GetWorkflowId(), err)
			}
			if _, err := a.Temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
				Namespace: a.Namespace, WorkflowExecution: r}); err != nil && !errors.As(err, &nf) {
				return step, fmt.Errorf("delete %s: %w", r.GetWorkflowId(), err)
			}
			if !deleted[r.GetRunId()] {
				deleted[r.GetRunId()] = true
				step.Removed["executions"]++
			}
		}
		activity.RecordHeartbeat(ctx, step.Removed["executions"])
		select { // deletion is asynchronous: list again until none is left
		case <-ctx.Done():
			return step, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return step, a.Store.RecordErasureStep(ctx, in.ContactID, step)
}

func (a *Privacy) list(ctx context.Context, query string) ([]*commonpb.WorkflowExecution, error) {
	var out []*commonpb.WorkflowExecution
	var token []byte
	for {
		res, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: a.Namespace, Query: query, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list the contact's workflows: %w", err)
		}
		for _, e := range res.GetExecutions() {
			out = append(out, e.GetExecution())
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

func isAlreadyCompleted(err error) bool {
	var fp *serviceerror.FailedPrecondition
	return errors.As(err, &fp)
}

// CompleteErasure stamps the receipt complete.
func (a *Privacy) CompleteErasure(ctx context.Context, contactID string) (kith.ErasureReceipt, error) {
	return a.Store.CompleteErasure(ctx, contactID)
}
