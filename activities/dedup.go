package activities

import (
	"cmp"
	"context"
	"fmt"
	"slices"

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
	Stats      dedup.Stats `json:"stats"`
}

// mergeBatch is how many clusters one transaction merges.
const mergeBatch = 200

// Resolve de-duplicates every active contact: clusters are merged into their
// oldest contact (recorded, undoable), unsure pairs are queued for review, and
// reviewers' earlier decisions are applied.
func (a *Dedup) Resolve(ctx context.Context) (DedupSummary, error) {
	contacts, err := a.Store.ActiveContacts(ctx)
	if err != nil {
		return DedupSummary{}, err
	}
	cfg := a.Config
	if cfg.Decisions, err = a.Store.ReviewDecisions(ctx); err != nil {
		return DedupSummary{}, err
	}
	records := make([]dedup.Record, len(contacts))
	for i, c := range contacts {
		records[i] = dedup.Record{ID: c.ID, Source: c.Fields[kith.FieldEmail].Source, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
			Email: c.Get(kith.FieldEmail), Phone: c.Get(kith.FieldPhone), FirstName: c.Get(kith.FieldFirstName),
			LastName: c.Get(kith.FieldLastName), BirthDate: c.Get(kith.FieldBirthDate), PostalCode: c.Get(kith.FieldPostalCode),
			City: c.Get(kith.FieldCity)}
	}
	res := dedup.Resolve(records, cfg)
	sum := DedupSummary{Contacts: len(contacts), Stats: res.Stats}
	reason := fmt.Sprintf("dedup: linked with match probability ≥ %.2f", cmp.Or(cfg.AcceptAbove, dedup.DefaultAcceptAbove))
	for batch := range slices.Chunk(res.Clusters, mergeBatch) {
		ms := make([]kith.Merge, len(batch))
		merged := 0
		for i, cl := range batch {
			ms[i] = kith.Merge{SurvivorID: cl.ID, MergedIDs: cl.Members[1:], Golden: map[kith.Field]kith.Value(cl.Golden), Reason: reason, Actor: "dedup"}
			merged += len(cl.Members) - 1
		}
		ids, err := a.Store.MergeContacts(ctx, ms...)
		if err != nil {
			return sum, err
		}
		if len(ids) > 0 && sum.FirstMerge == 0 {
			sum.FirstMerge = ids[0]
		}
		sum.Merges += merged
	}
	pairs := make([]kith.ReviewPair, len(res.Review))
	for i, p := range res.Review {
		pairs[i] = kith.ReviewPair{A: p.A, B: p.B, Probability: p.Probability}
	}
	if err := a.Store.QueueReview(ctx, pairs); err != nil {
		return sum, err
	}
	sum.Review = len(pairs)
	return sum, nil
}
