package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/dedup"
)

// DeduplicateName is the wire name of Deduplicate.
const DeduplicateName = "Deduplicate"

// DedupTaskQueue is where the parts of a partitioned de-duplication run go:
// every worker polls it beside TaskQueue, taking as many parts at once as its
// memory allows (KITH_DEDUP_PART_SLOTS), so the parts spread over the workers.
const DedupTaskQueue = "kith-dedup"

// dedupOptions: one resolution of every active contact takes about a minute per
// million contacts plus the merges it writes; retried from scratch on failure,
// which is safe because merges are applied once.
var dedupOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    10 * time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    10 * time.Minute,
		MaximumAttempts:    5,
	},
}

// partOptions: a part heartbeats as it goes; a worker that dies has its part
// retried on another within the heartbeat timeout.
var partOptions = workflow.ActivityOptions{
	TaskQueue:           DedupTaskQueue,
	StartToCloseTimeout: 2 * time.Hour,
	HeartbeatTimeout:    time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
		MaximumAttempts:    10,
	},
}

// mergeParts is how many parts a round's merges are split into: enough to
// keep a few workers busy, each part reading all of the round's links.
const mergeParts = 4

// partitionedRounds bounds the rounds of a partitioned run, as maxRounds does
// Resolve's: merged golden records can link survivors no single record linked.
const partitionedRounds = 5

// RoundFloor: since dedup-round-floor, a later round of a run in parts runs
// only when the round before merged at least one contact in RoundFloor of the
// list. A round is a pass over every part whatever it finds (at 10M contacts
// the second round, which merged 69, took 36 s, and a third merged none);
// what a further round would find, the next run's first round finds. In one
// process a round is cheap and Resolve repeats until one merges nothing.
const RoundFloor = 10000

// Deduplicate resolves duplicate contacts in the store: merges recorded and
// undoable, unsure pairs queued for review. Ops schedule it (see schedules.json).
func Deduplicate(ctx workflow.Context) (activities.DedupSummary, error) {
	return deduplicate(ctx)
}

// deduplicate resolves every active contact, in one process or, for a list
// the plan splits, in parts of the key space spread over the workers: the
// parts' pair patterns give the model, each part scores its blocks and keeps
// its links, and the merge parts each join the links, resolve their linked
// components alone and merge, side by side. Rounds repeat until one merges
// nothing, each scoring with the first round's model only the blocks the round
// before changed.
func deduplicate(ctx workflow.Context) (activities.DedupSummary, error) {
	var a *activities.Dedup
	var sum activities.DedupSummary
	whole := workflow.WithActivityOptions(ctx, dedupOptions)
	if workflow.GetVersion(ctx, "partitioned-dedup", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		err := workflow.ExecuteActivity(whole, a.Resolve).Get(ctx, &sum)
		return sum, err
	}
	var plan activities.DedupPlan
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, profileWriteOptions), a.PlanResolution).Get(ctx, &plan); err != nil {
		return sum, err
	}
	if plan.Parts <= 1 {
		err := workflow.ExecuteActivity(whole, a.Resolve).Get(ctx, &sum)
		return sum, err
	}
	parts := workflow.WithActivityOptions(ctx, partOptions)
	run := workflow.GetInfo(ctx).WorkflowExecution
	sum.Contacts, sum.Parts = plan.Contacts, plan.Parts
	// Since changed-blocks, the model is estimated once a run and a later
	// round scores only the blocks its survivors changed.
	changedBlocks := workflow.GetVersion(ctx, "dedup-changed-blocks", workflow.DefaultVersion, 1) == 1
	// Since parallel-merge, a round's links are joined and merged in parts
	// side by side (MergePart), not in one activity.
	parallelMerge := workflow.GetVersion(ctx, "dedup-parallel-merge", workflow.DefaultVersion, 1) == 1
	// Since new-profiles, a later round scores only the pairs of its
	// survivors' new golden profiles (PartInput.NewProfiles).
	newProfiles := changedBlocks && workflow.GetVersion(ctx, "dedup-new-profiles", workflow.DefaultVersion, 1) == 1
	floor := 1 // a round merging this many or more is followed by another
	if workflow.GetVersion(ctx, "dedup-round-floor", workflow.DefaultVersion, 1) == 1 {
		floor = max(1, plan.Contacts/RoundFloor)
	}
	// Since round-parts, a later round of new profiles is split by its keys
	// (PlanRound), not into the first round's parts.
	roundPartsByKeys := newProfiles && workflow.GetVersion(ctx, "dedup-round-parts", workflow.DefaultVersion, 1) == 1
	var version, changedFrom int64
	for round := range partitionedRounds {
		if round == 0 || !changedBlocks {
			var err error
			if version, err = trainModel(ctx, parts, plan); err != nil {
				return sum, err
			}
		}
		runID := fmt.Sprintf("%s/%s/%d", run.ID, run.RunID, round)
		roundParts := plan.Parts
		if roundPartsByKeys && changedFrom > 0 {
			in := activities.RoundInput{ChangedFrom: changedFrom, Parts: plan.Parts}
			if err := workflow.ExecuteActivity(whole, a.PlanRound, in).Get(ctx, &roundParts); err != nil {
				return sum, err
			}
		}
		var scored []workflow.Future
		for p := range roundParts {
			scored = append(scored, workflow.ExecuteActivity(parts, a.ScorePart,
				activities.PartInput{RunID: runID, Part: p, Parts: roundParts, ModelVersion: version, ChangedFrom: changedFrom, NewProfiles: newProfiles && changedFrom > 0}))
		}
		var st dedup.Stats
		for _, f := range scored {
			var ps dedup.Stats
			if err := f.Get(ctx, &ps); err != nil {
				return sum, err
			}
			st.Comparisons += ps.Comparisons
			st.OversizedBlocks += ps.OversizedBlocks
			st.Links += ps.Links
			st.Review += ps.Review
		}
		var r activities.DedupSummary
		if parallelMerge {
			var err error
			if r, err = mergeInParts(ctx, parts, runID, version); err != nil {
				return sum, err
			}
		} else if err := workflow.ExecuteActivity(parts, a.JoinLinks,
			activities.PartInput{RunID: runID, Parts: plan.Parts, ModelVersion: version}).Get(ctx, &r); err != nil {
			return sum, err
		}
		if round == 0 {
			st.Records = plan.Contacts
			if plan.Contacts > 0 {
				st.PerRecord = float64(st.Comparisons) / float64(plan.Contacts)
			}
			sum.Stats, sum.ModelVersion = st, version
		}
		if sum.FirstMerge == 0 {
			sum.FirstMerge = r.FirstMerge
		}
		sum.Merges += r.Merges
		if changedBlocks {
			sum.Review += r.Review // a round queues the pairs of the blocks it scored
		} else {
			sum.Review = r.Review
		}
		sum.Rounds++
		if r.Merges < floor {
			sum.Unsettled = r.Merges > 0
			break
		}
		if changedBlocks {
			changedFrom = r.FirstMerge
		}
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, profileWriteOptions), a.FinishResolution, sum).Get(ctx, nil)
	return sum, err
}

// trainModel counts the pair patterns of the plan's sample of parts and
// estimates the run's model from them; it returns the model's version.
func trainModel(ctx workflow.Context, parts workflow.Context, plan activities.DedupPlan) (int64, error) {
	var a *activities.Dedup
	var hists []workflow.Future
	for _, p := range plan.Sample {
		hists = append(hists, workflow.ExecuteActivity(parts, a.HistogramPart, activities.PartInput{Part: p, Parts: plan.Parts}))
	}
	train := activities.TrainInput{Contacts: plan.Contacts}
	for _, f := range hists {
		var h dedup.Histogram
		if err := f.Get(ctx, &h); err != nil {
			return 0, err
		}
		train.Histograms = append(train.Histograms, h)
	}
	var version int64
	err := workflow.ExecuteActivity(parts, a.TrainModel, train).Get(ctx, &version)
	return version, err
}

// mergeInParts joins a round's links and merges its components in parts side by
// side, then forgets the links; it sums the parts. Since merge-mark, the
// round's merges and its first merge are read from the merge records written
// after the parts started (RoundMerges): a retried part's own count misses
// what its failed attempt merged.
func mergeInParts(ctx workflow.Context, parts workflow.Context, runID string, version int64) (activities.DedupSummary, error) {
	var a *activities.Dedup
	var sum activities.DedupSummary
	marked := workflow.GetVersion(ctx, "dedup-merge-mark", workflow.DefaultVersion, 1) == 1
	var mark int64
	if marked {
		if err := workflow.ExecuteActivity(parts, a.MergeMark).Get(ctx, &mark); err != nil {
			return sum, err
		}
	}
	var fs []workflow.Future
	for p := range mergeParts {
		fs = append(fs, workflow.ExecuteActivity(parts, a.MergePart,
			activities.PartInput{RunID: runID, Part: p, Parts: mergeParts, ModelVersion: version}))
	}
	for _, f := range fs {
		var r activities.DedupSummary
		if err := f.Get(ctx, &r); err != nil {
			return sum, err
		}
		if r.FirstMerge > 0 && (sum.FirstMerge == 0 || r.FirstMerge < sum.FirstMerge) {
			sum.FirstMerge = r.FirstMerge
		}
		sum.Merges += r.Merges
		sum.Review += r.Review
	}
	if marked {
		var r activities.DedupSummary
		if err := workflow.ExecuteActivity(parts, a.RoundMerges, mark).Get(ctx, &r); err != nil {
			return sum, err
		}
		sum.FirstMerge, sum.Merges = r.FirstMerge, r.Merges
	}
	err := workflow.ExecuteActivity(parts, a.ForgetLinks, activities.PartInput{RunID: runID}).Get(ctx, nil)
	return sum, err
}
