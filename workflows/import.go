package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
)

// ImportContactsName is the wire name of ImportContacts.
const ImportContactsName = "ImportContacts"

// ImportWorkflowID is the workflow ID of an import of the file with the given
// SHA-256: starting the same file while its import runs attaches to that run.
func ImportWorkflowID(sha256 string) string {
	if len(sha256) > 16 {
		sha256 = sha256[:16]
	}
	return "import/" + sha256
}

// ImportStartOptions starts an import of in: the same file while its import runs
// attaches to that run rather than importing twice; a later import of it runs anew.
func ImportStartOptions(in ImportInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       ImportWorkflowID(in.SHA256),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// ImportInput names a CSV file of contacts that the workers can read.
type ImportInput struct {
	Path      string `json:"path"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	BatchSize int    `json:"batch_size,omitempty"`
	// AsOf is when the file's data was observed; the starter sends the file's
	// modification time.
	AsOf time.Time `json:"as_of"`
	// Region reads phones and numeric dates of rows without a country.
	Region string `json:"region,omitempty"`
	// Regions are where the file's contacts live (activities.ImportFileInput).
	Regions []string `json:"regions,omitempty"`
}

// ImportSummary is the result of ImportContacts, shown in the Temporal UI.
type ImportSummary struct {
	Rows        int `json:"rows"`
	Created     int `json:"created"`
	Updated     int `json:"updated"`
	Unchanged   int `json:"unchanged"`
	Quarantined int `json:"quarantined"` // rows with a refused value, kept in quarantine with the reasons
	Skipped     int `json:"skipped"`     // of those, rows that made no contact
}

// fileImportOptions: a file import runs as long as the file needs and heartbeats
// after every committed batch; a worker that dies is noticed within the heartbeat
// timeout and the retry resumes from the committed checkpoint.
var fileImportOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 6 * time.Hour,
	HeartbeatTimeout:    15 * time.Second,
	RetryPolicy:         backoff(time.Minute, activities.ErrInvalidCSV),
}

// ImportContacts imports a CSV file of contacts: rows are standardized and
// upserted; refused values are quarantined with their violations while the row's
// other values still import.
func ImportContacts(ctx workflow.Context, in ImportInput) (ImportSummary, error) {
	ctx = workflow.WithActivityOptions(ctx, fileImportOptions)
	exec := workflow.GetInfo(ctx).WorkflowExecution
	var a *activities.Import
	var cp kith.ImportCheckpoint
	err := workflow.ExecuteActivity(ctx, a.ImportFile, activities.ImportFileInput{
		ImportID:  exec.ID + "/" + exec.RunID,
		Path:      in.Path,
		SHA256:    in.SHA256,
		BatchSize: in.BatchSize,
		AsOf:      in.AsOf,
		Region:    in.Region,
		Regions:   in.Regions,
	}).Get(ctx, &cp)
	if err != nil {
		return ImportSummary{}, err
	}
	return ImportSummary{
		Rows: cp.Row, Created: cp.Created, Updated: cp.Updated,
		Unchanged: cp.Unchanged, Quarantined: cp.Quarantined, Skipped: cp.Skipped,
	}, nil
}
