// Package workflows holds Kith's Temporal workflows: deterministic orchestration
// only (no I/O, no clock, no randomness, no map iteration order). Wire names are
// constants, separate from Go names, so a rename never breaks running histories;
// Register lists every workflow and activity a worker runs. ContactService, the
// Temporal implementation of kith.ContactService, lives here beside the wire
// names it uses.
//
// # Changing a workflow safely
//
// A worker replays the history of every running workflow through the code it
// runs now, so a change that would make the workflow issue other commands at
// the same point of an old history (another activity, a timer more or less, an
// upsert that depends on a rule) breaks every contact, load or backfill running
// at deploy time. Kith patches: it does not use Worker Versioning.
//
//  1. Put the new behaviour behind workflow.GetVersion(ctx, "what-changed",
//     workflow.DefaultVersion, N), taken once where the run decides (as
//     ContactLifecycle does at its start); the old branch stays until no run that
//     began before it can be running (contacts continue as new within
//     DefaultMaxEventsInRun messages; check the Temporal UI before removing it).
//  2. Anything a run decides with that a deploy may change (weights, purposes,
//     thresholds) is pinned into the run's state or input when it begins, or read
//     by an activity: never read from a package variable on replay.
//  3. Record a history of the new behaviour into testdata/ (see its README) and
//     keep the old ones: TestReplay replays every file with RegisterWorkflows, and
//     fails if a registered workflow has no history.
//
// Why patching and not Worker Versioning (build ids): Kith's entity workflows
// (ContactLifecycle) live for years, far longer than one build should stay
// deployed, and Temporal's versioning of such long runs still needs them to move
// to the new build through continue-as-new, which a patch gives for free; the
// dev server and self-hosted clusters Kith targets all run patched code, and a
// replay test of recorded histories catches a missed patch before a deploy.
package workflows

import (
	"reflect"
	"time"

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
	CRM      *activities.CRM
	Dedup    *activities.Dedup
	// Matcher matches a contact against the stored ones as it is written.
	Matcher   *activities.Matcher
	Cleaning  *activities.Cleaning
	Archiver  *activities.Archiver
	Warehouse *activities.Warehouse
	Relay     *activities.Relay
	// Deliveries sends what trigger rules decide (a worker without an ESP
	// configured records the decisions and fails the sends).
	Deliveries *activities.Deliveries
	// Personalize computes segments and recommendations nightly.
	Personalize *activities.Personalize
	// Privacy erases contacts.
	Privacy *activities.Privacy
	// Retention deletes what is kept only for a while.
	Retention *activities.Retention
	// Lake archives, expires, erases and replays the raw lake.
	Lake *activities.Lake
}

// WorkerOptions are the options of a worker on TaskQueue: the worker command's
// and the tests'.
func WorkerOptions() worker.Options {
	return worker.Options{
		// Let activities in hand finish (and commit their batch) on shutdown.
		WorkerStopTimeout: 30 * time.Second,
		Interceptors:      activities.Interceptors(),
		// Contacts' workflow tasks run their deliveries (local activities):
		// more pollers keep tasks flowing while some wait on the ESP.
		MaxConcurrentWorkflowTaskPollers: 8,
		// A contact's workflow handles a backlog of events (a relay catching up,
		// a burst from one visitor) in one workflow task without waiting on
		// anything. On a busy worker that can run past the SDK's default of one
		// second, and the detector then fails the task: its retries replay the
		// same backlog, fail again, wait longer each time, and the contact
		// answers no query until the backlog shrinks (the server refuses queries
		// while a task is failing). Five seconds is half the task's timeout: a
		// real deadlock is still reported rather than timing out.
		DeadlockDetectionTimeout: 5 * time.Second,
	}
}

// Register registers every workflow and activity with r. Activity names are the
// method names (workflows call them through typed method handles).
func Register(r worker.Registry, acts Activities) {
	RegisterWorkflows(r)
	for _, a := range []any{acts.Import, acts.Contacts, acts.CRM, acts.Dedup, acts.Matcher, acts.Cleaning, acts.Archiver, acts.Warehouse, acts.Relay, acts.Deliveries, acts.Personalize, acts.Privacy, acts.Retention, acts.Lake} {
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
	r.RegisterWorkflowWithOptions(EventRelay, workflow.RegisterOptions{Name: EventRelayName})
	r.RegisterWorkflowWithOptions(RetryDelivery, workflow.RegisterOptions{Name: RetryDeliveryName})
	r.RegisterWorkflowWithOptions(Personalization, workflow.RegisterOptions{Name: PersonalizationName})
	r.RegisterWorkflowWithOptions(Erasure, workflow.RegisterOptions{Name: ErasureName})
	r.RegisterWorkflowWithOptions(Retention, workflow.RegisterOptions{Name: RetentionName})
	r.RegisterWorkflowWithOptions(LakeArchive, workflow.RegisterOptions{Name: LakeArchiveName})
	r.RegisterWorkflowWithOptions(LakeReplay, workflow.RegisterOptions{Name: LakeReplayName})
}
