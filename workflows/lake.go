package workflows

import (
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
)

// Wire names of the raw lake's workflows.
const (
	LakeArchiveName = "LakeArchive"
	LakeReplayName  = "LakeReplay"
)

// LakeArchiveInput configures one archive run: object bounds and retention.
type LakeArchiveInput struct {
	Archive activities.LakeArchiveInput `json:"archive"`
	Expire  activities.ExpireInput      `json:"expire"`
}

// LakeArchiveResult is what a run wrote and deleted.
type LakeArchiveResult struct {
	Archived activities.LakeArchiveResult `json:"archived"`
	Expired  activities.ExpireResult      `json:"expired"`
}

// lakeOptions: uploads heartbeat after each object; a bucket or database
// outage is retried until it passes (the spool holds the lines meanwhile),
// never ends the run, and a worker without a bucket is told at once.
var lakeOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 6 * time.Hour,
	HeartbeatTimeout:    30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrLakeNotConfigured, activities.ErrReplayRefused}},
}

// LakeArchive drains the raw lake's spool into the bucket (objects sealed,
// uploaded and marked one by one, so a killed worker's retry neither loses
// nor doubles a line), then trims archived lines from the spool and deletes
// partitions past the retention age. Scheduled every few minutes
// (schemas/schedules.json); ops trigger or pause it in the Temporal UI.
func LakeArchive(ctx workflow.Context, in LakeArchiveInput) (LakeArchiveResult, error) {
	ctx = workflow.WithActivityOptions(ctx, lakeOptions)
	var a *activities.Lake
	var res LakeArchiveResult
	if err := workflow.ExecuteActivity(ctx, a.ArchiveSpool, in.Archive).Get(ctx, &res.Archived); err != nil {
		return res, err
	}
	err := workflow.ExecuteActivity(ctx, a.ExpireLake, in.Expire).Get(ctx, &res.Expired)
	return res, err
}

// LakeReplay re-runs one source's archived records of whole days through
// today's standardization and identity rules, with their original ids and
// provenance, and reports what changed. Its activity heartbeats a cursor, so
// a killed worker's retry goes on from there.
func LakeReplay(ctx workflow.Context, in activities.ReplayInput) (activities.ReplayReport, error) {
	ctx = workflow.WithActivityOptions(ctx, lakeOptions)
	var a *activities.Lake
	var rep activities.ReplayReport
	err := workflow.ExecuteActivity(ctx, a.ReplayLake, in).Get(ctx, &rep)
	return rep, err
}

// LakeReplayStartOptions start a replay: one per source and days at a time
// (a second start joins the running one).
func LakeReplayStartOptions(in activities.ReplayInput) client.StartWorkflowOptions {
	id := "lake-replay/" + string(in.Source) + "/" + in.From + "/" + in.To
	if in.OnlyQuarantined {
		id += "/quarantined"
	}
	return client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}
