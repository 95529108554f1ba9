package workflows_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/workflows"
)

// TestLakeArchiveUploadsThenExpires: the spool is archived first (with the
// run's object bounds), then archived lines are trimmed and old partitions
// deleted; the result carries both.
func TestLakeArchiveUploadsThenExpires(t *testing.T) {
	env := newEnv(t)
	var a *activities.Lake
	env.RegisterActivity(a)
	var mu sync.Mutex
	var steps []string
	env.OnActivity(a.ArchiveSpool, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LakeArchiveInput) (activities.LakeArchiveResult, error) {
			mu.Lock()
			defer mu.Unlock()
			steps = append(steps, "archive")
			if in.MaxLines != 100 {
				t.Errorf("max lines %d, want the run's 100", in.MaxLines)
			}
			return activities.LakeArchiveResult{Objects: 3, Lines: 250}, nil
		})
	env.OnActivity(a.ExpireLake, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ExpireInput) (activities.ExpireResult, error) {
			mu.Lock()
			defer mu.Unlock()
			steps = append(steps, "expire")
			return activities.ExpireResult{SpoolTrimmed: 250, ObjectsDeleted: 1}, nil
		})
	env.ExecuteWorkflow(workflows.LakeArchiveName, workflows.LakeArchiveInput{Archive: activities.LakeArchiveInput{MaxLines: 100}, Expire: activities.ExpireInput{RetentionDays: 30}})
	var res workflows.LakeArchiveResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0] != "archive" || steps[1] != "expire" {
		t.Errorf("steps %v, want archive then expire", steps)
	}
	if res.Archived.Lines != 250 || res.Expired.ObjectsDeleted != 1 {
		t.Errorf("result %+v", res)
	}
}

// TestLakeArchiveWithoutABucketFailsAtOnce: a worker with no lake says so
// once; the run does not retry for hours or trim anything.
func TestLakeArchiveWithoutABucketFailsAtOnce(t *testing.T) {
	env := newEnv(t)
	var a *activities.Lake
	env.RegisterActivity(a)
	var mu sync.Mutex
	calls := 0
	env.OnActivity(a.ArchiveSpool, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.LakeArchiveInput) (activities.LakeArchiveResult, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return activities.LakeArchiveResult{}, temporal.NewNonRetryableApplicationError("no bucket", activities.ErrLakeNotConfigured, nil)
		})
	env.ExecuteWorkflow(workflows.LakeArchiveName, workflows.LakeArchiveInput{})
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("the run succeeded without a bucket")
	}
	if calls != 1 {
		t.Errorf("archive tried %d times, want 1", calls)
	}
}
