package workflows_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/workflows"
)

func TestCRMBackfillContinuesAsNewWithItsTotals(t *testing.T) {
	env := newEnv(t)
	var a *activities.CRM
	env.RegisterActivity(a)
	calls := 0
	env.OnActivity(a.BackfillPages, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BackfillInput) (activities.BackfillProgress, error) {
			calls++
			return activities.BackfillProgress{Pages: in.Pages, Contacts: in.Pages * in.PageSize}, nil
		})
	env.ExecuteWorkflow(workflows.CRMBackfillName, workflows.CRMBackfillInput{Provider: "hubspot", PageSize: 50, PagesPerActivity: 4, PagesPerRun: 10})
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("ended with %v, want continue-as-new", env.GetWorkflowError())
	}
	var next workflows.CRMBackfillInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if calls != 3 || next.Pages != 12 || next.Contacts != 600 || next.PagesPerRun != 10 {
		t.Errorf("%d activity calls; carried %+v; want 3 calls, 12 pages, 600 contacts", calls, next)
	}
}

func TestCRMBackfillEndsWhenTheCRMHasNoMore(t *testing.T) {
	env := newEnv(t)
	var a *activities.CRM
	env.RegisterActivity(a)
	env.OnActivity(a.BackfillPages, mock.Anything, mock.Anything).Return(activities.BackfillProgress{Pages: 2, Contacts: 150, Done: true}, nil)
	env.ExecuteWorkflow(workflows.CRMBackfillName, workflows.CRMBackfillInput{Provider: "hubspot", Pages: 12, Contacts: 600})
	var res workflows.CRMBackfillResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Pages != 14 || res.Contacts != 750 {
		t.Errorf("result %+v, want the totals of every run", res)
	}
}
