package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/workflows"
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env, workflows.Activities{Import: &activities.Import{}, Contacts: &activities.Contacts{Store: newFakeProfiles()}})
	return env
}

func TestImportContactsReturnsTheCheckpointCounts(t *testing.T) {
	env := newEnv(t)
	var a *activities.Import
	var got activities.ImportFileInput
	env.OnActivity(a.ImportFile, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ImportFileInput) (kith.ImportCheckpoint, error) {
			got = in
			return kith.ImportCheckpoint{Offset: 99, Row: 10, Created: 6, Updated: 1, Unchanged: 1, Quarantined: 2, Done: true}, nil
		})
	in := workflows.ImportInput{Path: "/data/c.csv", SHA256: "abc", Size: 99, BatchSize: 7}
	env.ExecuteWorkflow(workflows.ImportContactsName, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var sum workflows.ImportSummary
	if err := env.GetWorkflowResult(&sum); err != nil {
		t.Fatal(err)
	}
	if want := (workflows.ImportSummary{Rows: 10, Created: 6, Updated: 1, Unchanged: 1, Quarantined: 2}); sum != want {
		t.Errorf("summary = %+v, want %+v", sum, want)
	}
	if got.Path != in.Path || got.SHA256 != in.SHA256 || got.BatchSize != 7 {
		t.Errorf("activity input = %+v", got)
	}
	// The checkpoint key is this run: stable across activity retries, new per import.
	if !strings.HasPrefix(got.ImportID, "default-test-workflow-id/") {
		t.Errorf("import id = %q, want workflow id/run id", got.ImportID)
	}
}

func TestImportContactsDoesNotRetryAnUnusableFile(t *testing.T) {
	env := newEnv(t)
	var a *activities.Import
	calls := 0
	env.OnActivity(a.ImportFile, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.ImportFileInput) (kith.ImportCheckpoint, error) {
			calls++
			return kith.ImportCheckpoint{}, temporal.NewNonRetryableApplicationError("no email column", activities.ErrInvalidCSV, nil)
		})
	env.ExecuteWorkflow(workflows.ImportContactsName, workflows.ImportInput{Path: "x.csv"})
	err := env.GetWorkflowError()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != activities.ErrInvalidCSV {
		t.Fatalf("err = %v, want %s", err, activities.ErrInvalidCSV)
	}
	if calls != 1 {
		t.Errorf("activity ran %d times, want 1", calls)
	}
}

func TestImportContactsRetriesTransientFailures(t *testing.T) {
	env := newEnv(t)
	var a *activities.Import
	calls := 0
	env.OnActivity(a.ImportFile, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.ImportFileInput) (kith.ImportCheckpoint, error) {
			calls++
			if calls < 3 {
				return kith.ImportCheckpoint{}, errors.New("connection refused")
			}
			return kith.ImportCheckpoint{Row: 1, Created: 1, Done: true}, nil
		})
	env.ExecuteWorkflow(workflows.ImportContactsName, workflows.ImportInput{Path: "x.csv"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("activity ran %d times, want 3", calls)
	}
}
