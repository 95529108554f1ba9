package activities

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// Dedup resolves duplicate contacts in the store.
type Dedup struct {
	Store  kith.DedupStore
	Config dedup.Config
}

// DedupSummary is what a de-duplication run did.
type DedupSummary struct {
	Contacts int `json:"contacts"`
	Merges   int `json:"merges"` // contacts merged into another
	Review   int `json:"review"` // pairs queued for a person
	// FirstMerge is the first merge record this run wrote (ids grow): from it on
	// are the survivors to score again.
	FirstMerge int64       `json:"first_merge,omitempty"`
	Stats      dedup.Stats `json:"stats"` // of the first round
	// Rounds is how many resolutions ran: the last merged nothing.
	Rounds int `json:"rounds,omitempty"`
}

// mergeBatch is how many clusters one transaction merges.
const mergeBatch = 200

// maxRounds bounds the rounds of one Resolve: merging golden records can link
// survivors that no single record linked, so resolution runs again on the
// survivors until a round merges nothing (a fixed point), usually in two.
const maxRounds = 5

// Resolve de-duplicates every active contact: clusters are merged into their
// oldest contact (recorded, undoable), unsure pairs are queued for review, and
// reviewers' earlier decisions are applied. It repeats on the merged survivors
// until nothing more merges, so a second run right after changes nothing.
func (a *Dedup) Resolve(ctx context.Context) (DedupSummary, error) {
	var sum DedupSummary
	for round := range maxRounds {
		r, err := a.resolveOnce(ctx)
		if round == 0 {
			sum.Contacts, sum.Stats = r.Contacts, r.Stats
		}
		if sum.FirstMerge == 0 {
			sum.FirstMerge = r.FirstMerge
		}
		sum.Merges += r.Merges
		sum.Review = r.Review // the last round's queue is the whole queue
		sum.Rounds++
		if err != nil {
			return sum, err
		}
		if r.Merges == 0 {
			break
		}
	}
	return sum, a.record(ctx, sum)
}

// record keeps the run's figures for the quality report, under the workflow
// run's id (a retried activity rewrites its row).
func (a *Dedup) record(ctx context.Context, sum DedupSummary) error {
	run := kith.DedupRun{RunID: "direct", FinishedAt: time.Now().UTC(), Contacts: sum.Contacts, Comparisons: sum.Stats.Comparisons,
		Links: sum.Stats.Links, Merged: sum.Merges, Review: sum.Review, Rounds: sum.Rounds}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		run.RunID = info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID
	}
	return a.Store.RecordDedupRun(ctx, run)
}

func (a *Dedup) resolveOnce(ctx context.Context) (DedupSummary, error) {
	contacts, err := a.Store.ActiveContacts(ctx)
	if err != nil {
		return DedupSummary{}, err
	}
	sources, err := a.Store.ActiveSourceRecords(ctx)
	if err != nil {
		return DedupSummary{}, err
	}
	cfg := a.Config
	if cfg.Decisions, err = a.Store.ReviewDecisions(ctx); err != nil {
		return DedupSummary{}, err
	}
	// Each contact is compared as its profile and as every source record it
	// received that says something else (an older phone, another spelling): the
	// profile keeps one value per field, and matching must not lose the rest.
	records := make([]dedup.Record, 0, len(contacts))
	owner := map[string]int{}             // record id → index of its contact
	profile := make([]int, len(contacts)) // contact index → index of its profile's record
	for i, c := range contacts {
		base := dedup.RecordOf(c.ID, c.Fields[kith.FieldEmail].Source, c.CreatedAt, c.UpdatedAt, c.Get)
		profile[i] = len(records)
		records = append(records, base)
		owner[c.ID] = i
		group := []string{c.ID}
		for _, sr := range sources[c.ID] {
			r := dedup.RecordOf("source:"+string(sr.Source)+":"+sr.Ref, sr.Source, c.CreatedAt, sr.ObservedAt,
				func(f kith.Field) string { return sr.Fields[f] })
			if sameMatchValues(r, base) {
				continue // it says nothing the profile does not
			}
			records = append(records, r)
			owner[r.ID] = i
			group = append(group, r.ID)
		}
		if len(group) > 1 {
			cfg.Same = append(cfg.Same, group)
		}
	}
	res := dedup.Resolve(records, cfg)
	sum := DedupSummary{Contacts: len(contacts), Stats: res.Stats}
	threshold := cmp.Or(cfg.AcceptAbove, dedup.DefaultAcceptAbove)
	var merges []kith.Merge
	for _, cl := range res.Clusters {
		// The cluster's contacts (its source records stand for theirs); the
		// oldest survives, and the golden record is built from the profiles.
		var members []*dedup.Record
		seen := map[int]bool{}
		for _, id := range cl.Members {
			i := owner[id]
			if !seen[i] {
				seen[i] = true
				members = append(members, &records[profile[i]])
			}
		}
		if len(members) < 2 {
			continue
		}
		slices.SortFunc(members, func(x, y *dedup.Record) int {
			return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), cmp.Compare(x.ID, y.ID))
		})
		merged := make([]string, 0, len(members)-1)
		for _, m := range members[1:] {
			merged = append(merged, m.ID)
		}
		merges = append(merges, kith.Merge{SurvivorID: members[0].ID, MergedIDs: merged, Golden: map[kith.Field]kith.Value(dedup.GoldenRecord(members)),
			Score: cl.Weakest, Actor: "dedup",
			Reason: fmt.Sprintf("dedup: %d contacts linked; weakest link has match probability %.3f (accept ≥ %.2f)", len(members), cl.Weakest, threshold)})
	}
	for batch := range slices.Chunk(merges, mergeBatch) {
		ids, err := a.Store.MergeContacts(ctx, batch...)
		if err != nil {
			return sum, err
		}
		if len(ids) > 0 && sum.FirstMerge == 0 {
			sum.FirstMerge = ids[0]
		}
		for _, m := range batch {
			sum.Merges += len(m.MergedIDs)
		}
	}
	// Review pairs name contacts: a pair of source records is their contacts'.
	var pairs []kith.ReviewPair
	queued := map[[2]string]bool{}
	for _, p := range res.Review {
		a, b := contacts[owner[p.A]].ID, contacts[owner[p.B]].ID
		if a == b {
			continue
		}
		if b < a {
			a, b = b, a
		}
		if queued[[2]string{a, b}] {
			continue
		}
		queued[[2]string{a, b}] = true
		pairs = append(pairs, kith.ReviewPair{A: a, B: b, Probability: p.Probability, Reason: p.Reason})
	}
	if err := a.Store.QueueReview(ctx, pairs); err != nil {
		return sum, err
	}
	sum.Review = len(pairs)
	return sum, nil
}

// sameMatchValues reports whether two records hold the same matching fields.
func sameMatchValues(a, b dedup.Record) bool {
	a.ID, a.Source, a.CreatedAt, a.UpdatedAt = b.ID, b.Source, b.CreatedAt, b.UpdatedAt
	return a == b
}
