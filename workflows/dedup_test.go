package workflows_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/workflows"
)

// TestLaterRoundsNeedTheRoundFloor runs Deduplicate in parts with each
// round's merges given: a round is followed by another while it merges at
// least one contact in workflows.RoundFloor of the list, and a run that stops
// on a round that merged some, below the floor, says it is unsettled. A later
// round is split into the parts PlanRound gives for the merges of the round
// before, not the first round's.
func TestLaterRoundsNeedTheRoundFloor(t *testing.T) {
	const contacts, parts, laterParts = 200000, 4, 2
	floor := contacts / workflows.RoundFloor
	for _, tc := range []struct {
		name      string
		merges    []int // by round
		rounds    int
		unsettled bool
	}{
		{"until a round merges nothing", []int{5000, floor, 0}, 3, false},
		{"until one merges fewer than the floor", []int{5000, floor - 1, 7}, 2, true},
		{"one round that merges nothing", []int{0}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			var a *activities.Dedup
			env.RegisterActivity(a)
			env.OnActivity(a.PlanResolution, mock.Anything).Return(activities.DedupPlan{Contacts: contacts, Parts: parts, Sample: []int{0}}, nil)
			env.OnActivity(a.HistogramPart, mock.Anything, mock.Anything).Return(dedup.Histogram{}, nil)
			env.OnActivity(a.TrainModel, mock.Anything, mock.Anything).Return(int64(1), nil)
			var mu sync.Mutex                             // the mocked activities run side by side
			scored := map[string][]activities.PartInput{} // parts scored, by round's run id
			env.OnActivity(a.ScorePart, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PartInput) (dedup.Stats, error) {
				mu.Lock()
				defer mu.Unlock()
				scored[in.RunID] = append(scored[in.RunID], in)
				return dedup.Stats{}, nil
			})
			var planned []activities.RoundInput
			env.OnActivity(a.PlanRound, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RoundInput) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				planned = append(planned, in)
				return laterParts, nil
			})
			round := -1
			env.OnActivity(a.MergeMark, mock.Anything).Return(func(context.Context) (int64, error) {
				mu.Lock()
				defer mu.Unlock()
				round++
				return int64(round * 100000), nil
			})
			env.OnActivity(a.MergePart, mock.Anything, mock.Anything).Return(activities.DedupSummary{}, nil)
			env.OnActivity(a.RoundMerges, mock.Anything, mock.Anything).Return(func(_ context.Context, mark int64) (activities.DedupSummary, error) {
				mu.Lock()
				defer mu.Unlock()
				n := tc.merges[round]
				if n == 0 {
					return activities.DedupSummary{}, nil
				}
				return activities.DedupSummary{Merges: n, FirstMerge: mark + 1}, nil
			})
			env.OnActivity(a.ForgetLinks, mock.Anything, mock.Anything).Return(nil)
			env.OnActivity(a.FinishResolution, mock.Anything, mock.Anything).Return(nil)
			env.ExecuteWorkflow(workflows.DeduplicateName)
			var sum activities.DedupSummary
			if err := env.GetWorkflowResult(&sum); err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, n := range tc.merges[:tc.rounds] {
				want += n
			}
			if sum.Rounds != tc.rounds || round+1 != tc.rounds || len(scored) != tc.rounds || sum.Merges != want || sum.Unsettled != tc.unsettled {
				t.Errorf("%d rounds (%d merged, %d scored, unsettled %v), %d merges; want %d rounds, %d merges, unsettled %v",
					sum.Rounds, round+1, len(scored), sum.Unsettled, sum.Merges, tc.rounds, want, tc.unsettled)
			}
			for id, in := range scored {
				n := laterParts
				if strings.HasSuffix(id, "/0") {
					n = parts
				}
				slices.SortFunc(in, func(a, b activities.PartInput) int { return a.Part - b.Part })
				for i, p := range in {
					if p.Part != i || p.Parts != n {
						t.Errorf("round %s scored part %d of %d, want part %d of %d", id, p.Part, p.Parts, i, n)
					}
				}
				if len(in) != n {
					t.Errorf("round %s scored %d parts, want %d", id, len(in), n)
				}
			}
			// Each later round is planned from the first merge of the
			// round before (RoundMerges gives mark+1, the marks 100,000
			// apart).
			if len(planned) != tc.rounds-1 {
				t.Fatalf("%d later rounds planned, want %d", len(planned), tc.rounds-1)
			}
			for i, in := range planned {
				if want := (activities.RoundInput{ChangedFrom: int64(i*100000 + 1), Parts: parts}); in != want {
					t.Errorf("round %d planned with %+v, want %+v", i+1, in, want)
				}
			}
		})
	}
}
