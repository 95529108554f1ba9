// Package workflows holds Kith's Temporal workflows: deterministic orchestration
// only (no I/O, no clock, no randomness, no map iteration order). Wire names are
// constants, separate from Go names, so a rename never breaks running histories;
// Register lists every workflow and activity a worker runs.
package workflows

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
)

// TaskQueue is the task queue Kith's workers poll.
const TaskQueue = "kith"

// Activities are the activity structs a worker registers, with their dependencies.
type Activities struct {
	Import   *activities.Import
	Contacts *activities.Contacts
}

// Register registers every workflow and activity with r. Activity names are the
// method names (workflows call them through typed method handles).
func Register(r worker.Registry, acts Activities) {
	r.RegisterWorkflowWithOptions(ImportContacts, workflow.RegisterOptions{Name: ImportContactsName})
	r.RegisterWorkflowWithOptions(ContactLifecycle, workflow.RegisterOptions{Name: ContactLifecycleName})
	for _, a := range []any{acts.Import, acts.Contacts} {
		r.RegisterActivityWithOptions(a, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	}
}
