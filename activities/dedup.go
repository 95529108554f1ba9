package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// Dedup resolves duplicate contacts in the store.
type Dedup struct {
	Store  kith.PartitionStore
	Config dedup.Config
	// Parts splits a run into that many parts of the key space, run as
	// activities on every worker of the de-duplication task queue; 0 decides
	// by the list's size (PartSize contacts a part), and 1 runs in one process.
	Parts int
	// PartSize is how many contacts one part holds when Parts is 0 (default
	// DefaultPartSize).
	PartSize int
	// JoinBatch is about how many linked contacts a merge part reads and
	// merges at once, mergeStreams batches side by side (default joinBatch).
	JoinBatch int

	mu     sync.Mutex
	models map[int64]*storedModel // models read by version, for the parts
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
	// Rounds is how many resolutions ran: the last merged nothing, or (in
	// parts) too few for another round to be worth its pass (Unsettled).
	Rounds int `json:"rounds,omitempty"`
	// Unsettled says the last round of a run in parts merged some contacts
	// but fewer than one in RoundFloor of the list, so no further round ran:
	// what one would have found, the next run's first round finds.
	Unsettled bool `json:"unsettled,omitempty"`
	// ModelVersion is the match model the first round estimated and stored
	// for matching contacts on write.
	ModelVersion int64 `json:"model_version,omitempty"`
	// Parts is how many parts of the key space the run was split into (0 or
	// 1: one process).
	Parts int `json:"parts,omitempty"`
}

// mergeBatch is how many clusters one transaction merges.
const mergeBatch = 200

// dedupActor is the actor of the merges de-duplication makes.
const dedupActor = "dedup"

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
	cfg := a.Config
	for round := range maxRounds {
		r, err := a.resolveOnce(ctx, &cfg)
		if round == 0 {
			sum.Contacts, sum.Stats, sum.ModelVersion = r.Contacts, r.Stats, r.ModelVersion
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

// resolveOnce resolves the active contacts once. Without a model in run it
// estimates one, stores it (with the name counts) for matching contacts on
// write and sets it in run, so the run's later rounds score with the model of
// the whole list, as the partitioned run does.
func (a *Dedup) resolveOnce(ctx context.Context, run *dedup.Config) (DedupSummary, error) {
	contacts, err := a.Store.ActiveContacts(ctx)
	if err != nil {
		return DedupSummary{}, err
	}
	sources, err := a.Store.ActiveSourceRecords(ctx)
	if err != nil {
		return DedupSummary{}, err
	}
	cfg := *run
	if cfg.Decisions, err = a.Store.ReviewDecisions(ctx); err != nil {
		return DedupSummary{}, err
	}
	set := newMatchSet(contacts, sources)
	cfg.Same = set.same
	x := dedup.NewIndex(set.records, cfg)
	res := x.Result()
	sum := DedupSummary{Contacts: len(contacts), Stats: res.Stats}
	if run.Model == nil {
		m, names := x.Model(), x.NameCounts()
		run.Model, run.Names = &m, &names
		if sum.ModelVersion, err = a.saveModel(ctx, x); err != nil {
			return sum, err
		}
	}
	threshold := cmp.Or(cfg.AcceptAbove, dedup.DefaultAcceptAbove)
	var merges []kith.Merge
	for _, cl := range res.Clusters {
		if m, ok := set.merge(cl, threshold, dedupActor); ok {
			merges = append(merges, m)
		}
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
	pairs := set.reviewPairs(res.Review, "")
	pairs = slices.DeleteFunc(pairs, func(p kith.ReviewPair) bool { return res.ClusterOf[p.A] == res.ClusterOf[p.B] })
	if err := a.Store.QueueReview(ctx, pairs); err != nil {
		return sum, err
	}
	sum.Review = len(pairs)
	return sum, nil
}

// saveModel stores the model an index estimated, with its name counts.
func (a *Dedup) saveModel(ctx context.Context, x *dedup.Index) (int64, error) {
	model, err := json.Marshal(x.Model())
	if err != nil {
		return 0, err
	}
	names := x.NameCounts()
	return a.Store.SaveMatchModel(ctx, kith.MatchModel{Records: names.Records, Model: model, FirstNames: names.First, LastNames: names.Last})
}

// matchSet is what de-duplication compares of some contacts: each as its
// profile and as every source record it received that says something else (an
// older phone, another spelling) — the profile keeps one value per field, and
// matching must not lose the rest. The full run and matching on write both
// build it here.
type matchSet struct {
	ids     []string // the contacts' ids: their profiles and records are in records
	records []dedup.Record
	owner   map[string]int // record id → index of its contact
	profile []int          // contact index → index of its profile's record
	same    [][]string     // a contact's records: one person whatever they hold
}

// newMatchSet is matchSetOf the contacts (in their order) and the source
// records each holds.
func newMatchSet(contacts []kith.Contact, sources map[string][]kith.SourceRecord) *matchSet {
	var rows []kith.MatchRow
	for _, c := range contacts {
		rows = append(rows, kith.MatchRow{Holder: c.ID, CreatedAt: c.CreatedAt, At: c.UpdatedAt,
			EmailSource: c.Fields[kith.FieldEmail].Source, Values: matchValues(c.Get)})
		for _, sr := range sources[c.ID] {
			rows = append(rows, kith.MatchRow{Holder: c.ID, Source: sr.Source, Ref: sr.Ref, At: sr.ObservedAt,
				Values: matchValues(func(f kith.Field) string { return sr.Fields[f] })})
		}
	}
	return matchSetOf(rows)
}

// matchValues are the values of dedup.MatchFields get reads.
func matchValues(get func(kith.Field) string) []string {
	vals := make([]string, len(dedup.MatchFields))
	for i, f := range dedup.MatchFields {
		vals[i] = get(f)
	}
	return vals
}

// byHolder splits rows into each holder's run of rows.
func byHolder(rows []kith.MatchRow) [][]kith.MatchRow {
	out := make([][]kith.MatchRow, 0, len(rows)/2+1) // most holders send one or two rows
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].Holder == rows[i].Holder {
			j++
		}
		out, i = append(out, rows[i:j]), j
	}
	return out
}

// matchSetOf is the set of the contacts whose rows are given (each holder's
// profile row first, then its records; holders in the order matching should
// take them). A holder without its profile row is no candidate.
func matchSetOf(rows []kith.MatchRow) *matchSet {
	holders := byHolder(rows)
	// Sized up front: a part's set is hundreds of thousands of records, and
	// growing it copied them over and over (a twentieth of a worker's time).
	set := &matchSet{owner: make(map[string]int, len(rows)), records: make([]dedup.Record, 0, len(rows)),
		ids: make([]string, 0, len(holders)), profile: make([]int, 0, len(holders))}
	for _, group := range holders {
		p, held := group[0], group[1:]
		if p.Source != "" {
			continue
		}
		c := len(set.ids)
		base := dedup.RecordOfValues(p.Holder, p.EmailSource, p.CreatedAt, p.At, p.Values)
		set.ids, set.profile = append(set.ids, p.Holder), append(set.profile, len(set.records))
		set.records = append(set.records, base)
		set.owner[p.Holder] = c
		group := []string{p.Holder}
		for _, sr := range held {
			r := dedup.RecordOfValues("source:"+string(sr.Source)+":"+sr.Ref, sr.Source, p.CreatedAt, sr.At, sr.Values)
			if sameMatchValues(r, base) {
				continue // it says nothing the profile does not
			}
			set.records = append(set.records, r)
			set.owner[r.ID] = c
			group = append(group, r.ID)
		}
		if len(group) > 1 {
			set.same = append(set.same, group)
		}
	}
	return set
}

// merge is a cluster as a merge of the contacts whose profiles it holds into
// the oldest, with the golden record built from the profiles; false when it
// holds fewer than two.
func (set *matchSet) merge(cl dedup.Cluster, threshold float64, actor string) (kith.Merge, bool) {
	var members []*dedup.Record
	for _, id := range cl.Members {
		// A contact goes with the cluster of its profile: the chain guard can
		// cut one of its source records into another cluster, and a contact
		// merged twice in one batch would be refused.
		if i := set.owner[id]; set.records[set.profile[i]].ID == id {
			members = append(members, &set.records[set.profile[i]])
		}
	}
	if len(members) < 2 {
		return kith.Merge{}, false
	}
	slices.SortFunc(members, func(x, y *dedup.Record) int {
		return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), cmp.Compare(x.ID, y.ID))
	})
	merged := make([]string, 0, len(members)-1)
	for _, m := range members[1:] {
		merged = append(merged, m.ID)
	}
	return kith.Merge{SurvivorID: members[0].ID, MergedIDs: merged, Golden: map[kith.Field]kith.Value(dedup.GoldenRecord(members)),
		Score: cl.Weakest, Actor: actor,
		Reason: fmt.Sprintf("%s: %d contacts linked; weakest link has match probability %.3f (accept ≥ %.2f)", actor, len(members), cl.Weakest, threshold)}, true
}

// reviewPairs are the pairs to queue as pairs of contacts (a pair of source
// records is their contacts'), once each; with only set, those that involve
// that contact.
func (set *matchSet) reviewPairs(review []dedup.Pair, only string) []kith.ReviewPair {
	var pairs []kith.ReviewPair
	queued := map[[2]string]bool{}
	for _, p := range review {
		a, b := set.ids[set.owner[p.A]], set.ids[set.owner[p.B]]
		if a == b || only != "" && a != only && b != only {
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
	return pairs
}

// sameMatchValues reports whether two records hold the same matching fields.
func sameMatchValues(a, b dedup.Record) bool {
	a.ID, a.Source, a.CreatedAt, a.UpdatedAt = b.ID, b.Source, b.CreatedAt, b.UpdatedAt
	return a == b
}
