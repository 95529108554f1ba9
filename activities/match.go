package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// Matcher matches one contact, as it is written, against the stored contacts:
// candidates through the blocking-key table, scored with the model the last
// full run estimated, merged, queued for review or left, as the full run would.
type Matcher struct {
	Store    kith.MatchStore
	Notifier kith.ContactNotifier
	Config   dedup.Config
	// ModelTTL is how long a worker uses the model it read before it looks for
	// a newer one (default 30 s).
	ModelTTL time.Duration

	mu      sync.Mutex
	model   *storedModel
	checked time.Time
}

// storedModel is a stored model ready to score with.
type storedModel struct {
	version int64
	model   dedup.Model
	names   dedup.NameCounts
}

// MatchInput names the contact to match.
type MatchInput struct {
	ContactID string `json:"contact_id"`
	// Unverified says the contact's new values came from answers nobody
	// verified (a web form): a merge keeps every value the survivor has (they
	// only fill its gaps), and the browser that sent them stays with the
	// merged contact (kith.Merge.Unverified).
	Unverified bool `json:"unverified,omitempty"`
	// Notice is what the survivor's workflow takes over when the contact is
	// merged (the submission's consents, opt-ins and event); its ids are
	// filled in here.
	Notice kith.MergeNotice `json:"notice,omitzero"`
}

// MatchResult is what matching decided.
type MatchResult struct {
	// Outcome is "merged" (the contact is part of SurvivorID now), "absorbed"
	// (others were merged into this older contact), "review", or "none".
	Outcome      string   `json:"outcome"`
	SurvivorID   string   `json:"survivor_id,omitempty"`
	MergedIDs    []string `json:"merged_ids,omitempty"`
	MergeIDs     []int64  `json:"merge_ids,omitempty"` // the merge records, to undo
	Probability  float64  `json:"probability,omitempty"`
	Candidates   int      `json:"candidates"`
	ModelVersion int64    `json:"model_version"` // 0: the cold-start model
}

// Outcomes of MatchResult.
const (
	MatchMerged   = "merged"
	MatchAbsorbed = "absorbed"
	MatchReview   = "review"
	MatchNone     = "none"
)

// MatchContact matches one contact. A contact merged already (a later
// submission to it) has what it holds now folded into its survivor. Retrying
// is safe: a merge applied before is skipped, a review pair queued again stays
// one, and the workflows ignore a notice they have seen.
func (a *Matcher) MatchContact(ctx context.Context, in MatchInput) (MatchResult, error) {
	mc, err := a.Store.MatchCandidates(ctx, in.ContactID, a.perKey())
	if err != nil {
		return MatchResult{}, err
	}
	switch mc.Status {
	case "merged":
		return a.fold(ctx, in)
	case "active":
	default:
		return MatchResult{Outcome: MatchNone}, nil // archived: no candidate, matches nothing
	}
	res := MatchResult{Outcome: MatchNone, Candidates: len(mc.Candidates)}
	if len(mc.Candidates) == 0 {
		return res, nil
	}
	m, err := a.current(ctx)
	if err != nil {
		return res, err
	}
	res.ModelVersion = m.version
	set := newMatchSet(append([]kith.Contact{mc.Contact}, mc.Candidates...), mc.Sources)
	cfg := a.Config
	cfg.Model, cfg.Names, cfg.Decisions, cfg.Same = &m.model, &m.names, mc.Decisions, set.same
	if m.version == 0 {
		cfg.Names = nil // no counts yet: the candidates' own
	}
	out := dedup.Resolve(set.records, cfg)
	threshold := cmp.Or(cfg.AcceptAbove, dedup.DefaultAcceptAbove)
	for _, cl := range out.Clusters {
		if out.ClusterOf[in.ContactID] != cl.ID {
			continue
		}
		merge, ok := set.merge(cl, threshold, "match-on-write")
		if !ok {
			break
		}
		if in.Unverified {
			merge.Unverified = true
			merge.Reason += "; unverified answers: they only fill what the survivor lacks"
		}
		ids, err := a.Store.MergeContacts(ctx, merge)
		if err != nil {
			return res, err
		}
		res.SurvivorID, res.MergedIDs, res.MergeIDs, res.Probability = merge.SurvivorID, merge.MergedIDs, ids, cl.Weakest
		res.Outcome = MatchAbsorbed
		if merge.SurvivorID != in.ContactID {
			res.Outcome = MatchMerged
		}
		return res, a.notify(ctx, in, merge.SurvivorID, merge.MergedIDs)
	}
	if pairs := set.reviewPairs(out.Review, in.ContactID); len(pairs) > 0 {
		if err := a.Store.QueueReview(ctx, pairs); err != nil {
			return res, err
		}
		res.Outcome, res.Probability = MatchReview, pairs[0].Probability
	}
	return res, nil
}

// fold writes what a merged contact holds now into its survivor, with the
// survivorship of a merge, and tells the survivor.
func (a *Matcher) fold(ctx context.Context, in MatchInput) (MatchResult, error) {
	survivor, err := a.Store.FoldIntoSurvivor(ctx, in.ContactID, func(s, m kith.Contact) map[kith.Field]kith.Value {
		rs := []dedup.Record{dedup.RecordOf(s.ID, s.Fields[kith.FieldEmail].Source, s.CreatedAt, s.UpdatedAt, s.Get),
			dedup.RecordOf(m.ID, m.Fields[kith.FieldEmail].Source, m.CreatedAt, m.UpdatedAt, m.Get)}
		p := dedup.Profile(dedup.GoldenRecord([]*dedup.Record{&rs[0], &rs[1]}), []kith.Contact{s, m})
		if in.Unverified {
			p = dedup.FillOnly(p, s.Fields)
		}
		return p
	})
	if err != nil || survivor == "" {
		return MatchResult{Outcome: MatchNone}, err
	}
	return MatchResult{Outcome: MatchMerged, SurvivorID: survivor}, a.notify(ctx, in, survivor, nil)
}

// notify tells the survivor's workflow to reload its profile and take over the
// submission's consents, opt-ins and event, and every other merged contact's
// workflow that it is merged (the calling contact's learns from the result).
func (a *Matcher) notify(ctx context.Context, in MatchInput, survivor string, merged []string) error {
	if a.Notifier == nil {
		return nil
	}
	n := in.Notice
	n.SurvivorID, n.MergedID = survivor, in.ContactID
	if survivor == in.ContactID {
		n.MergedID = ""
	}
	n.ID = fmt.Sprintf("merge/%s/%s/%s", survivor, in.ContactID, n.ID)
	if survivor != in.ContactID {
		if err := a.Notifier.NotifyMerged(ctx, survivor, n); err != nil {
			return err
		}
	}
	for _, id := range merged {
		if id == in.ContactID {
			continue
		}
		if err := a.Notifier.NotifyMerged(ctx, id, kith.MergeNotice{ID: fmt.Sprintf("merge/%s/%s", survivor, id), SurvivorID: survivor, MergedID: id}); err != nil {
			return err
		}
	}
	return nil
}

func (a *Matcher) perKey() int { return cmp.Or(a.Config.MaxBlock, 40) }

// current returns the newest stored model, read again at most every ModelTTL;
// before any full run, the cold-start model.
func (a *Matcher) current(ctx context.Context) (*storedModel, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.model != nil && time.Since(a.checked) < cmp.Or(a.ModelTTL, 30*time.Second) {
		return a.model, nil
	}
	var have int64
	if a.model != nil {
		have = a.model.version
	}
	stored, found, err := a.Store.MatchModel(ctx, have)
	if err != nil {
		return nil, err
	}
	a.checked = time.Now()
	switch {
	case found:
		m := &storedModel{version: stored.Version, names: dedup.NameCounts{Records: stored.Records, First: stored.FirstNames, Last: stored.LastNames}}
		if err := json.Unmarshal(stored.Model, &m.model); err != nil {
			return nil, fmt.Errorf("match model %d: %w", stored.Version, err)
		}
		a.model = m
	case a.model == nil:
		a.model = &storedModel{model: dedup.ColdStartModel()}
	}
	return a.model, nil
}
