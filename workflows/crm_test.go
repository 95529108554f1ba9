package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/workflows"
)

func TestCRMBackfillContinuesAsNewWithItsTotals(t *testing.T) {
	env := newEnv(t)
	var a *activities.CRM
	env.RegisterActivity(a)
	totals := kith.CRMTotals{Pages: 5, Contacts: 500} // earlier backfills'
	env.OnActivity(a.BackfillStart, mock.Anything, "hubspot").Return(kith.CRMCursor{Totals: totals}, nil)
	calls := 0
	env.OnActivity(a.BackfillPages, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BackfillInput) (activities.BackfillProgress, error) {
			calls++
			totals.Pages += in.Pages
			totals.Contacts += in.Pages * in.PageSize
			return activities.BackfillProgress{Pages: in.Pages, Contacts: in.Pages * in.PageSize, Cursor: kith.CRMCursor{Totals: totals}}, nil
		})
	env.ExecuteWorkflow(workflows.CRMBackfillName, workflows.CRMBackfillInput{Provider: "hubspot", PageSize: 50, PagesPerActivity: 4, PagesPerRun: 10})
	next := continued[workflows.CRMBackfillInput](t, env)
	if calls != 3 || next.Pages != 12 || next.Contacts != 600 || next.PagesPerRun != 10 || next.Baseline == nil || next.Baseline.Pages != 5 {
		t.Errorf("%d activity calls; carried %+v (baseline %v); want 3 calls, 12 pages, 600 contacts, the baseline of 5 pages", calls, next, next.Baseline)
	}
}

// TestCRMBackfillCountsWhatWasCommitted: the summary is the committed totals less
// the baseline, so pages an activity committed but never reported (its worker
// died) still count.
func TestCRMBackfillCountsWhatWasCommitted(t *testing.T) {
	env := newEnv(t)
	var a *activities.CRM
	env.RegisterActivity(a)
	env.OnActivity(a.BackfillPages, mock.Anything, mock.Anything).Return(activities.BackfillProgress{Pages: 2, Contacts: 150, Done: true,
		Cursor: kith.CRMCursor{Totals: kith.CRMTotals{Pages: 17, Contacts: 1450, Quarantined: 4}}}, nil)
	env.ExecuteWorkflow(workflows.CRMBackfillName, workflows.CRMBackfillInput{Provider: "hubspot", Pages: 12, Contacts: 600,
		Baseline: &kith.CRMTotals{Pages: 3, Contacts: 250, Quarantined: 1}})
	var res workflows.CRMBackfillResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Pages != 14 || res.Contacts != 1200 || res.Quarantined != 3 {
		t.Errorf("result %+v, want the committed totals less the baseline: 14 pages, 1200 contacts, 3 quarantined", res)
	}
	env.AssertActivityNumberOfCalls(t, "BackfillStart", 0) // a continued run has its baseline
}

func TestCleaningRescoresOnlyAfterMerges(t *testing.T) {
	for _, merges := range []int{0, 2} {
		env := newEnv(t)
		var c *activities.Cleaning
		var d *activities.Dedup
		var a *activities.Archiver
		env.RegisterActivity(c)
		env.RegisterActivity(d)
		env.RegisterActivity(a)
		passes := 0
		env.OnActivity(c.Standardize, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.StandardizeInput) (activities.StandardizeResult, error) {
			passes++
			if want := map[int]int64{1: 0, 2: 7}[passes]; in.MergesFrom != want {
				t.Errorf("pass %d reads the survivors of merges from %d, want %d (0: every contact)", passes, in.MergesFrom, want)
			}
			return activities.StandardizeResult{Checked: 10}, nil
		})
		env.OnActivity(d.PlanResolution, mock.Anything).Return(activities.DedupPlan{Contacts: 10, Parts: 1}, nil)
		env.OnActivity(d.Resolve, mock.Anything).Return(activities.DedupSummary{Merges: merges, FirstMerge: 7}, nil)
		env.OnActivity(a.Archive, mock.Anything, mock.Anything).Return(kith.ArchiveCounts{Inactive: 3}, nil)
		env.ExecuteWorkflow(workflows.CleaningName, workflows.CleaningInput{})
		var sum workflows.CleaningSummary
		if err := env.GetWorkflowResult(&sum); err != nil {
			t.Fatal(err)
		}
		if want := 1 + min(merges, 1); passes != want || sum.Archived.Inactive != 3 || sum.Standardized.Checked != 10 {
			t.Errorf("%d merges: %d standardize passes (want %d), summary %+v", merges, passes, want, sum)
		}
	}
}

// TestCRMBackfillContinuedFromBeforeBaselinesKeepsItsTotals: a backfill begun
// before baselines carries activity counts and no baseline into its next run; the
// baseline that run takes must count those carried pages as already done, not
// start again from zero.
func TestCRMBackfillContinuedFromBeforeBaselinesKeepsItsTotals(t *testing.T) {
	env := newEnv(t)
	var a *activities.CRM
	env.RegisterActivity(a)
	// The cursor holds every page committed so far: 30 before this backfill began
	// and the 12 pages (600 contacts, 2 quarantined) its first run carried over.
	env.OnActivity(a.BackfillStart, mock.Anything, "hubspot").Return(kith.CRMCursor{Totals: kith.CRMTotals{Pages: 42, Contacts: 3600, Quarantined: 9}}, nil)
	env.OnActivity(a.BackfillPages, mock.Anything, mock.Anything).Return(activities.BackfillProgress{Pages: 2, Contacts: 100, Done: true,
		Cursor: kith.CRMCursor{Totals: kith.CRMTotals{Pages: 44, Contacts: 3700, Quarantined: 9}}}, nil)
	env.ExecuteWorkflow(workflows.CRMBackfillName, workflows.CRMBackfillInput{Provider: "hubspot", Pages: 12, Contacts: 600, Quarantined: 2})
	var res workflows.CRMBackfillResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Pages != 14 || res.Contacts != 700 || res.Quarantined != 2 {
		t.Errorf("result %+v, want the carried totals plus this run's: 14 pages, 700 contacts, 2 quarantined", res)
	}
}

func TestEventRelayDrainsThenContinuesAsNew(t *testing.T) {
	env := newEnv(t)
	var a *activities.Relay
	env.RegisterActivity(a)
	env.OnActivity(a.Drain, mock.Anything, mock.Anything).Return(activities.RelayResult{Signalled: 4}, nil)
	env.ExecuteWorkflow(workflows.EventRelayName, workflows.EventRelayInput{Runs: 3, Signalled: 10})
	next := continued[workflows.EventRelayInput](t, env)
	env.AssertActivityNumberOfCalls(t, "Drain", 3)
	if next.Signalled != 22 || next.Runs != 3 {
		t.Errorf("carried %+v, want 22 signalled and the same runs", next)
	}
}

func TestDeduplicateSpreadsPartsAndRepeatsUntilNothingMerges(t *testing.T) {
	env := newEnv(t)
	var d *activities.Dedup
	env.RegisterActivity(d)
	env.OnActivity(d.PlanResolution, mock.Anything).Return(activities.DedupPlan{Contacts: 400, Parts: 4, Sample: []int{0, 2}}, nil)
	env.OnActivity(d.HistogramPart, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PartInput) (dedup.Histogram, error) {
		return dedup.Histogram{uint32(in.Part): 1}, nil
	})
	var mu sync.Mutex // the test environment runs activities on goroutines of their own
	trained := 0
	env.OnActivity(d.TrainModel, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.TrainInput) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		trained++
		if len(in.Histograms) != 2 || in.Contacts != 400 {
			t.Errorf("trained from %d histograms of %d contacts, want the 2 sampled parts' of 400", len(in.Histograms), in.Contacts)
		}
		return int64(10 + trained), nil
	})
	scored := map[string][]int{}
	env.OnActivity(d.ScorePart, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PartInput) (dedup.Stats, error) {
		mu.Lock()
		defer mu.Unlock()
		if in.ModelVersion != 11 || in.Parts != 4 {
			t.Errorf("part %+v scored with another model or split", in)
		}
		// The first round scores every block; the second, the new profiles
		// of the first round's merges (from merge 40).
		first := strings.HasSuffix(in.RunID, "/0")
		if want := map[bool]int64{true: 0, false: 40}[first]; in.ChangedFrom != want || in.NewProfiles == first {
			t.Errorf("part %+v scored the blocks changed from merge %d (new profiles %v), want %d (%v)", in, in.ChangedFrom, in.NewProfiles, want, !first)
		}
		scored[in.RunID] = append(scored[in.RunID], in.Part)
		return dedup.Stats{Comparisons: 100, Links: 5}, nil
	})
	// The second round is split as PlanRound says, for the merges from 40 on.
	env.OnActivity(d.PlanRound, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RoundInput) (int, error) {
		if want := (activities.RoundInput{ChangedFrom: 40, Parts: 4}); in != want {
			t.Errorf("second round planned with %+v, want %+v", in, want)
		}
		return 4, nil
	})
	merged := map[string][]int{} // round → parts merged
	forgotten := map[string]bool{}
	env.OnActivity(d.MergePart, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PartInput) (activities.DedupSummary, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(scored[in.RunID]) != 4 || forgotten[in.RunID] {
			t.Errorf("part %d of %s merged before its 4 parts were scored (%v), or after its links were forgotten", in.Part, in.RunID, scored[in.RunID])
		}
		merged[in.RunID] = append(merged[in.RunID], in.Part)
		if strings.HasSuffix(in.RunID, "/1") {
			return activities.DedupSummary{Review: 1}, nil
		}
		// The first round's parts report 2 of its 3 merges, from merge 41
		// on: a part retried after merging reports only what it merged then.
		return activities.DedupSummary{Merges: []int{2, 0, 0, 0}[in.Part], Review: 1, FirstMerge: []int64{41, 0, 0, 0}[in.Part]}, nil
	})
	// The merge records say what the rounds merged, whatever the parts
	// report: the first round 3 contacts from merge 40 on, the second none.
	marks := []int64{39, 42}
	env.OnActivity(d.MergeMark, mock.Anything).Return(func(context.Context) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		m := marks[0]
		marks = marks[1:]
		return m, nil
	})
	env.OnActivity(d.RoundMerges, mock.Anything, mock.Anything).Return(func(_ context.Context, mark int64) (activities.DedupSummary, error) {
		if mark == 39 {
			return activities.DedupSummary{FirstMerge: 40, Merges: 3}, nil
		}
		return activities.DedupSummary{}, nil
	})
	env.OnActivity(d.ForgetLinks, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PartInput) error {
		mu.Lock()
		defer mu.Unlock()
		if len(merged[in.RunID]) != 4 {
			t.Errorf("links of %s forgotten after %v of 4 parts merged", in.RunID, merged[in.RunID])
		}
		forgotten[in.RunID] = true
		return nil
	})
	var finished activities.DedupSummary
	env.OnActivity(d.FinishResolution, mock.Anything, mock.Anything).Return(func(_ context.Context, s activities.DedupSummary) error {
		mu.Lock()
		defer mu.Unlock()
		finished = s
		return nil
	})
	env.ExecuteWorkflow(workflows.DeduplicateName)
	var sum activities.DedupSummary
	if err := env.GetWorkflowResult(&sum); err != nil {
		t.Fatal(err)
	}
	if sum.Rounds != 2 || sum.Merges != 3 || sum.Review != 8 || sum.FirstMerge != 40 || sum.Stats.Comparisons != 400 || sum.Stats.PerRecord != 1 ||
		sum.ModelVersion != 11 || len(scored) != 2 || trained != 1 || len(forgotten) != 2 {
		t.Errorf("summary %+v after %d models and runs %v", sum, trained, scored)
	}
	if finished.Merges != 3 {
		t.Errorf("the run was recorded as %+v", finished)
	}
}
