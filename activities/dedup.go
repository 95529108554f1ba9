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
		if err != nil || r.Merges == 0 {
			return sum, err
		}
	}
	return sum, nil
}

func (a *Dedup) resolveOnce(ctx context.Context) (DedupSummary, error) {
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
			City: c.Get(kith.FieldCity), Address: c.Get(kith.FieldAddress)}
	}
	res := dedup.Resolve(records, cfg)
	sum := DedupSummary{Contacts: len(contacts), Stats: res.Stats}
	threshold := cmp.Or(cfg.AcceptAbove, dedup.DefaultAcceptAbove)
	for batch := range slices.Chunk(res.Clusters, mergeBatch) {
		ms := make([]kith.Merge, len(batch))
		merged := 0
		for i, cl := range batch {
			ms[i] = kith.Merge{SurvivorID: cl.ID, MergedIDs: cl.Members[1:], Golden: map[kith.Field]kith.Value(cl.Golden),
				Score: cl.Weakest, Actor: "dedup",
				Reason: fmt.Sprintf("dedup: %d records linked; weakest link has match probability %.3f (accept ≥ %.2f)", len(cl.Members), cl.Weakest, threshold)}
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
		pairs[i] = kith.ReviewPair{A: p.A, B: p.B, Probability: p.Probability, Reason: p.Reason}
	}
	if err := a.Store.QueueReview(ctx, pairs); err != nil {
		return sum, err
	}
	sum.Review = len(pairs)
	return sum, nil
}
