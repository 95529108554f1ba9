// Package workflows holds Kith's Temporal workflows: deterministic orchestration
// only (no I/O, no clock, no randomness, no map iteration order). Wire names are
// constants, separate from Go names, so a rename never breaks running histories;
// Register lists every workflow and activity a worker runs.
package workflows

import (
	"reflect"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
)

// TaskQueue is the task queue Kith's workers poll.
const TaskQueue = "kith"

// Activities are the activity structs a worker registers, with their dependencies.
type Activities struct {
	Import    *activities.Import
	Contacts  *activities.Contacts
	CRM       *activities.CRM
	Dedup     *activities.Dedup
	Cleaning  *activities.Cleaning
	Archiver  *activities.Archiver
	Warehouse *activities.Warehouse
}

// Register registers every workflow and activity with r. Activity names are the
// method names (workflows call them through typed method handles). It tells the
// Contacts activities how to start a contact's workflow.
func Register(r worker.Registry, acts Activities) {
	if acts.Contacts != nil && acts.Contacts.ContactWorkflow == nil {
		acts.Contacts.ContactWorkflow = contactStart
	}
	RegisterWorkflows(r)
	for _, a := range []any{acts.Import, acts.Contacts, acts.CRM, acts.Dedup, acts.Cleaning, acts.Archiver, acts.Warehouse} {
		if reflect.ValueOf(a).IsNil() {
			continue // a worker without that dependency (tests)
		}
		r.RegisterActivityWithOptions(a, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	}
}

// RegisterWorkflows registers every workflow under its wire name: the worker
// through Register, and the replay test, so no workflow can miss a history.
func RegisterWorkflows(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Deduplicate, workflow.RegisterOptions{Name: DeduplicateName})
	r.RegisterWorkflowWithOptions(Cleaning, workflow.RegisterOptions{Name: CleaningName})
	r.RegisterWorkflowWithOptions(WarehouseLoad, workflow.RegisterOptions{Name: WarehouseLoadName})
	r.RegisterWorkflowWithOptions(CRMSync, workflow.RegisterOptions{Name: CRMSyncName})
	r.RegisterWorkflowWithOptions(CRMBackfill, workflow.RegisterOptions{Name: CRMBackfillName})
	r.RegisterWorkflowWithOptions(ImportContacts, workflow.RegisterOptions{Name: ImportContactsName})
	r.RegisterWorkflowWithOptions(ContactLifecycle, workflow.RegisterOptions{Name: ContactLifecycleName})
}
