package httpapi

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/workflows"
)

// Contacts reaches contacts' ContactLifecycle workflows.
type Contacts interface {
	// Submit applies a submission, starting the contact's workflow if needed, and
	// waits until it is stored. A repeat of a submission id changes nothing.
	Submit(ctx context.Context, req workflows.SubmitRequest) (workflows.ContactView, error)
	// ChangeConsent grants or withdraws a purpose.
	ChangeConsent(ctx context.Context, contactID string, ch workflows.ConsentChange) (workflows.ContactView, error)
	// Confirm delivers a double opt-in confirmation.
	Confirm(ctx context.Context, contactID string, s workflows.ConfirmSignal) error
	// State returns the contact's state; false when it has no workflow.
	State(ctx context.Context, contactID string) (workflows.ContactView, bool, error)
}

// TemporalContacts implements Contacts with a Temporal client.
type TemporalContacts struct {
	Client client.Client
	// Input is the start input of new contacts' workflows (tests lower the
	// continue-as-new threshold); ContactID is filled in.
	Input workflows.ContactInput
}

// Submit implements Contacts with Update-With-Start: the first submission creates
// the workflow, the update id (the submission id) makes a redelivery a no-op.
func (t *TemporalContacts) Submit(ctx context.Context, req workflows.SubmitRequest) (workflows.ContactView, error) {
	in := t.Input
	in.ContactID = req.Submission.ContactID
	start := t.Client.NewWithStartWorkflowOperation(workflows.ContactStartOptions(in.ContactID), workflows.ContactLifecycleName, in)
	h, err := t.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     "submit/" + req.Submission.SubmissionID,
			UpdateName:   workflows.UpdateSubmit,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return workflows.ContactView{}, err
	}
	var view workflows.ContactView
	return view, h.Get(ctx, &view)
}

// ChangeConsent implements Contacts.
func (t *TemporalContacts) ChangeConsent(ctx context.Context, contactID string, ch workflows.ConsentChange) (workflows.ContactView, error) {
	h, err := t.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.ContactWorkflowID(contactID),
		UpdateID:     "consent/" + ch.Record.Purpose + "/" + ch.Record.SourceRef,
		UpdateName:   workflows.UpdateConsent,
		Args:         []any{ch},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return workflows.ContactView{}, err
	}
	var view workflows.ContactView
	return view, h.Get(ctx, &view)
}

// Confirm implements Contacts.
func (t *TemporalContacts) Confirm(ctx context.Context, contactID string, s workflows.ConfirmSignal) error {
	return t.Client.SignalWorkflow(ctx, workflows.ContactWorkflowID(contactID), "", workflows.SignalConfirm, s)
}

// State implements Contacts.
func (t *TemporalContacts) State(ctx context.Context, contactID string) (workflows.ContactView, bool, error) {
	v, err := t.Client.QueryWorkflow(ctx, workflows.ContactWorkflowID(contactID), "", workflows.QueryState)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return workflows.ContactView{}, false, nil
	}
	if err != nil {
		return workflows.ContactView{}, false, fmt.Errorf("query contact: %w", err)
	}
	var view workflows.ContactView
	return view, true, v.Get(&view)
}

// CRMSyncs starts CRM syncs.
type CRMSyncs interface {
	// StartCRMSync starts the sync of one webhook event once: it returns when the
	// start is durable, and nil when the event was started before.
	StartCRMSync(ctx context.Context, in workflows.CRMSyncInput) error
}

// StartCRMSync implements CRMSyncs.
func (t *TemporalContacts) StartCRMSync(ctx context.Context, in workflows.CRMSyncInput) error {
	_, err := t.Client.ExecuteWorkflow(ctx, workflows.CRMSyncStartOptions(in.Provider, in.EventID), workflows.CRMSyncName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // a redelivery of an event already synced
	}
	return err
}
