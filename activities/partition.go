package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// DefaultPartSize is how many contacts one part of a partitioned run holds
// when the parts are decided by the list's size. Through the product one
// process held 7.7 GB resolving 777,000 contacts (profiles, source records and
// the index), so a part of 100,000 stays near 1 GB even before counting that
// it reads only the contacts of its blocks.
const DefaultPartSize = 100000

// modelSample bounds the records a run draws at random to estimate u from,
// and histogramContacts the contacts whose parts the candidate pairs' patterns
// are counted from: beyond them a sample of the parts stands for the list, as
// Splink estimates from a sample of pairs. Half a million contacts' parts
// (5 of 24 at 3M records) saved two minutes of the workers' time but moved
// the model: 500,000 contacts merged instead of 379,000, F1 against the truth
// 0.9623 against 0.9633, and four more minutes of merging.
const (
	modelSample       = 300000
	histogramContacts = 1000000
)

// DedupPlan is how a run is split.
type DedupPlan struct {
	Contacts int `json:"contacts"`
	// Parts of the key space; 1 resolves in one process (Resolve).
	Parts int `json:"parts"`
	// Sample are the parts the model's pair patterns are counted from.
	Sample []int `json:"sample,omitempty"`
}

// PlanResolution decides how many parts a run has.
func (a *Dedup) PlanResolution(ctx context.Context) (DedupPlan, error) {
	if err := a.Store.RefreshStatistics(ctx); err != nil {
		return DedupPlan{}, err
	}
	n, err := a.Store.CountActive(ctx)
	if err != nil {
		return DedupPlan{}, err
	}
	plan := DedupPlan{Contacts: n, Parts: a.Parts}
	if plan.Parts <= 0 {
		size := cmp.Or(a.PartSize, DefaultPartSize)
		plan.Parts = (n + size - 1) / size
	}
	if plan.Parts <= 1 {
		plan.Parts = 1
		return plan, nil
	}
	sampled := plan.Parts
	if n > histogramContacts {
		sampled = max(1, plan.Parts*histogramContacts/n)
	}
	for i := range sampled {
		plan.Sample = append(plan.Sample, i*plan.Parts/sampled)
	}
	return plan, nil
}

// PartInput names one part of a run.
type PartInput struct {
	RunID        string `json:"run_id,omitempty"`
	Part         int    `json:"part"`
	Parts        int    `json:"parts"`
	ModelVersion int64  `json:"model_version,omitempty"`
	// ChangedFrom, in a later round, is the first merge of the round before:
	// only the blocks of its survivors' keys are scored again, the others
	// being what the round before scored with the same model.
	ChangedFrom int64 `json:"changed_from,omitempty"`
	// NewProfiles, with ChangedFrom, narrows a later round to the pairs of
	// the survivors' new golden profiles, in the blocks of their keys: what
	// else a survivor holds was scored before with the same values, keys and
	// model.
	NewProfiles bool `json:"new_profiles,omitempty"`
}

// RoundInput is a later round to split: the first merge of the round before
// and the parts of the run's first round.
type RoundInput struct {
	ChangedFrom int64 `json:"changed_from"`
	Parts       int   `json:"parts"`
}

// minRoundParts is the fewest parts a later round is split into, so that it
// still spreads over a few workers.
const minRoundParts = 4

// PlanRound keys a later round's new profiles (once for the round: its parts
// read them, PartProfiles) and returns how many parts score them.
func (a *Dedup) PlanRound(ctx context.Context, in RoundInput) (int, error) {
	round, list, err := a.Store.RoundKeys(ctx, in.ChangedFrom)
	if err != nil {
		return 0, err
	}
	return roundParts(round, list, in.Parts), nil
}

// roundParts splits a later round's keys (round) into parts of about as many
// keys as a part of the first round held, which split the list's (list) into
// parts, and no fewer than minRoundParts (nor more than parts). A part's
// memory is that of the blocks of its keys, so a later part holds about what
// a first one did. A later round scores only its survivors' new profiles: at
// 10M contacts the first round's 80 parts split the second round's keys into
// 80 activities of about 2,900 rows each, most of the round's 36 s. Without
// the list's count (0), the round keeps the first round's parts.
func roundParts(round, list int64, parts int) int {
	if list <= 0 {
		return parts
	}
	n := (round*int64(parts) + list - 1) / list
	return int(min(int64(parts), max(n, minRoundParts)))
}

// partSet reads a part's contacts as records to compare, and which blocks
// (by key) are the part's to score.
func (a *Dedup) partSet(ctx context.Context, in PartInput) (*matchSet, kith.MatchCandidates, func(int64) bool, error) {
	lo, hi := dedup.KeyRange(in.Part, in.Parts)
	read := a.Store.PartContacts
	if in.ChangedFrom > 0 && in.NewProfiles {
		read = a.Store.PartProfiles
	}
	mc, err := read(ctx, lo, hi, in.ChangedFrom)
	if err != nil {
		return nil, mc, nil, err
	}
	inPart := func(k int64) bool { return k >= lo && k <= hi }
	if in.ChangedFrom > 0 {
		inPart = func(k int64) bool { _, ok := slices.BinarySearch(mc.Keys, k); return ok }
	}
	set := matchSetOf(mc.Rows)
	mc.Rows = nil // the set has what is compared
	return set, mc, inPart, nil
}

// HistogramPart counts the patterns of one part's candidate pairs, for the
// model.
func (a *Dedup) HistogramPart(ctx context.Context, in PartInput) (dedup.Histogram, error) {
	set, mc, inPart, err := a.partSet(ctx, in)
	if err != nil {
		return nil, err
	}
	cfg := a.Config
	cfg.Same, cfg.Decisions = set.same, mc.Decisions
	return dedup.HistogramOf(set.records, inPart, cfg), nil
}

// TrainInput is what the model of a partitioned run is estimated from.
type TrainInput struct {
	Histograms []dedup.Histogram `json:"histograms"`
	Contacts   int               `json:"contacts"`
}

// TrainModel reads every active contact once, a page at a time (counting
// names, and drawing records by their id's hash for u), estimates the model
// from the parts' histograms and stores it with the name counts; it returns
// the model's version.
func (a *Dedup) TrainModel(ctx context.Context, in TrainInput) (int64, error) {
	h := dedup.Histogram{}
	for _, part := range in.Histograms {
		h.Add(part)
	}
	every := uint64(max(1, in.Contacts*13/10/modelSample))
	// The list is read in the table's physical order, trainReaders ranges of
	// its pages side by side: the one step of a run that reads every contact
	// keeps both the database and the worker busy, and reading contacts in id
	// order cost a random page read each (54 µs a contact at 1M). The sample
	// is put back in id order, as one reader in id order would draw it.
	pages, err := a.Store.ContactPages(ctx)
	if err != nil {
		return 0, err
	}
	type drawnRecord struct {
		contact string
		r       dedup.Record
	}
	counts := make([]dedup.NameCounts, trainReaders)
	samples := make([][]drawnRecord, trainReaders)
	g, gctx := errgroup.WithContext(ctx)
	for i := range trainReaders {
		g.Go(func() error {
			from, to := pages*int64(i)/trainReaders, pages*int64(i+1)/trainReaders
			last := i == trainReaders-1
			for done := 0; ; done++ {
				if !last && from >= to {
					return nil
				}
				end := min(from+trainPages, to)
				// The last reader's last read is open-ended: it takes the
				// pages the table grew by since it was measured.
				open := last && end >= to
				if open {
					end = 0
				}
				page, err := a.Store.ActiveInPages(gctx, from, end)
				if err != nil {
					return err
				}
				set := matchSetOf(page.Rows)
				dedup.CountNames(set.records, &counts[i])
				for _, r := range set.records {
					if every == 1 || drawn(r.ID, every) {
						samples[i] = append(samples[i], drawnRecord{set.ids[set.owner[r.ID]], r})
					}
				}
				if activity.IsActivity(ctx) {
					activity.RecordHeartbeat(ctx, done) // safe from any goroutine
				}
				if open {
					return nil
				}
				from = end
			}
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	var names dedup.NameCounts
	var all []drawnRecord
	for i := range trainReaders {
		names.Add(counts[i])
		all = append(all, samples[i]...)
	}
	slices.SortStableFunc(all, func(x, y drawnRecord) int { return strings.Compare(x.contact, y.contact) })
	sample := make([]dedup.Record, len(all))
	for i, d := range all {
		sample[i] = d.r
	}
	m := dedup.TrainModel(h, sample, names.Records)
	model, err := json.Marshal(m)
	if err != nil {
		return 0, err
	}
	return a.Store.SaveMatchModel(ctx, kith.MatchModel{Records: names.Records, Model: model, FirstNames: names.First, LastNames: names.Last})
}

// ScorePart scores one part's candidate pairs with the run's model and keeps
// the pairs of contacts it links and those for review.
func (a *Dedup) ScorePart(ctx context.Context, in PartInput) (dedup.Stats, error) {
	m, err := a.modelVersion(ctx, in.ModelVersion)
	if err != nil {
		return dedup.Stats{}, err
	}
	set, mc, inPart, err := a.partSet(ctx, in)
	if err != nil {
		return dedup.Stats{}, err
	}
	cfg := a.Config
	cfg.Model, cfg.Names, cfg.Same, cfg.Decisions = &m.model, &m.names, set.same, mc.Decisions
	if in.ChangedFrom > 0 {
		// A later round scores the pairs of a survivor only (of its new
		// profile, with NewProfiles): two contacts that stood still were
		// scored the round before with this model, and their link, if any,
		// was joined then.
		changed := make([]bool, len(set.records))
		for i, r := range set.records {
			c := set.owner[r.ID]
			_, changed[i] = slices.BinarySearch(mc.Changed, set.ids[c])
			changed[i] = changed[i] && (!in.NewProfiles || set.profile[c] == i)
		}
		cfg.Changed = func(i int) bool { return changed[i] }
	}
	links, review, st := dedup.ScoreBlocks(set.records, inPart, cfg)
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, st)
	}
	return st, a.Store.SaveLinks(ctx, in.RunID, set.contactLinks(links, review))
}

// contactLinks are record pairs as pairs of their contacts (A < B), each once:
// linked if any of its record pairs is, else for review at its most likely.
func (set *matchSet) contactLinks(links, review []dedup.Pair) []kith.DedupLink {
	byPair := map[[2]string]kith.DedupLink{}
	add := func(p dedup.Pair, accepted bool) {
		a, b := set.ids[set.owner[p.A]], set.ids[set.owner[p.B]]
		if a == b {
			return
		}
		if b < a {
			a, b = b, a
		}
		cur, ok := byPair[[2]string{a, b}]
		switch {
		case !ok, accepted && !cur.Accepted, accepted == cur.Accepted && p.Probability > cur.Probability:
			byPair[[2]string{a, b}] = kith.DedupLink{A: a, B: b, Probability: p.Probability, Accepted: accepted, Reason: p.Reason}
		}
	}
	for _, p := range links {
		add(p, true)
	}
	for _, p := range review {
		add(p, false)
	}
	out := make([]kith.DedupLink, 0, len(byPair))
	for _, l := range byPair {
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y kith.DedupLink) int { return cmp.Or(strings.Compare(x.A, y.A), strings.Compare(x.B, y.B)) })
	return out
}

// joinBatch is about how many contacts the join reads at once, and
// mergeStreams how many such batches a merge part reads, resolves and merges
// side by side. Random 8 kB reads of this machine's disk: 7,600 a second one
// at a time, 24,700 two at a time, 58,900 eight at a time.
const (
	joinBatch    = 2000
	mergeStreams = 4
)

// JoinLinks joins a run's links into connected components (a union-find over
// the linked contacts only), resolves each component alone with the run's
// model — the chain guard on its members fetched — merges the clusters in
// batches, queues the review pairs and forgets the links. A retry redoes it:
// merges applied before are skipped. (Runs before dedup-parallel-merge; later
// ones merge in parts, MergePart.)
func (a *Dedup) JoinLinks(ctx context.Context, in PartInput) (DedupSummary, error) {
	sum, err := a.joinLinks(ctx, in, 0, 1)
	if err != nil {
		return sum, err
	}
	return sum, a.Store.DropLinks(ctx, in.RunID)
}

// MergePart is JoinLinks for the components of part in.Part of in.Parts (by
// their first contact id's hash), and the review pairs of its contacts: the
// parts merge side by side on every worker. Each joins all the run's links,
// which costs a read of them, not of contacts. ForgetLinks ends the round.
func (a *Dedup) MergePart(ctx context.Context, in PartInput) (DedupSummary, error) {
	return a.joinLinks(ctx, in, in.Part, in.Parts)
}

// MergeMark is the newest merge record's id before a round's merge parts
// start: RoundMerges counts theirs after it.
func (a *Dedup) MergeMark(ctx context.Context) (int64, error) {
	return a.Store.LastMergeID(ctx)
}

// RoundMerges is what a round's merge parts merged, read from the merge
// records after mark: a part retried after merging some of its clusters
// finds them merged and reports only what it merged itself, so the parts'
// own counts can fall short (one part of four at 10M contacts: 1,236,590
// reported for 1,647,463 records), and with them the round's first merge,
// from which the next round scores.
func (a *Dedup) RoundMerges(ctx context.Context, mark int64) (DedupSummary, error) {
	first, n, err := a.Store.MergesAfter(ctx, mark, dedupActor)
	return DedupSummary{FirstMerge: first, Merges: n}, err
}

// ForgetLinks drops a round's links once its parts have merged.
func (a *Dedup) ForgetLinks(ctx context.Context, in PartInput) error {
	return a.Store.DropLinks(ctx, in.RunID)
}

// joinLinks merges the components of one part of parts, and queues the
// review pairs whose first contact is in it.
func (a *Dedup) joinLinks(ctx context.Context, in PartInput, part, parts int) (DedupSummary, error) {
	m, err := a.modelVersion(ctx, in.ModelVersion)
	if err != nil {
		return DedupSummary{}, err
	}
	index := map[string]int32{}
	var ids []string
	var parent []int32
	node := func(id string) int32 {
		if i, ok := index[id]; ok {
			return i
		}
		index[id] = int32(len(ids))
		ids, parent = append(ids, id), append(parent, int32(len(ids)))
		return index[id]
	}
	find := func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	var review []kith.ReviewPair
	read := 0
	if err := a.Store.EachLink(ctx, in.RunID, func(l kith.DedupLink) error {
		if read++; read%100000 == 0 && activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, read) // millions of links take longer than the heartbeat timeout
		}
		if !l.Accepted {
			review = append(review, kith.ReviewPair{A: l.A, B: l.B, Probability: l.Probability, Reason: l.Reason})
			return nil
		}
		ra, rb := find(node(l.A)), find(node(l.B))
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
		return nil
	}); err != nil {
		return DedupSummary{}, err
	}
	components := map[int32][]string{}
	for i, id := range ids {
		r := find(int32(i))
		components[r] = append(components[r], id)
	}
	// A component's part is its least contact id's: the same whatever order
	// the links were read in.
	partOf := func(id string) int { return int(fnv64(id) % uint64(parts)) }
	ownPart := map[int32]bool{}
	roots := make([]int32, 0, len(components))
	for r, comp := range components {
		if partOf(slices.Min(comp)) == part {
			roots = append(roots, r)
			ownPart[r] = true
		}
	}
	// The components go in the order of their newest contact's id, which is
	// mostly the one merged (a cluster keeps its oldest contact): the merged
	// contacts' rows — their keys, match values, identities — lie in id order
	// in their tables, so a batch's merges touch neighbouring pages, and the
	// next batch's lie next to them. In the links' order, each of a batch's
	// merges read its own pages from anywhere in tables larger than memory.
	newest := make(map[int32]string, len(roots))
	for _, r := range roots {
		newest[r] = slices.Max(components[r])
	}
	slices.SortFunc(roots, func(x, y int32) int { return strings.Compare(newest[x], newest[y]) })
	// A review pair is the part's whose first contact is: in its component's
	// part, or by its own id when linked to nothing.
	review = slices.DeleteFunc(review, func(p kith.ReviewPair) bool {
		if i, ok := index[p.A]; ok {
			return !ownPart[find(i)]
		}
		return partOf(p.A) != part
	})

	sum := DedupSummary{}
	threshold := cmp.Or(a.Config.AcceptAbove, dedup.DefaultAcceptAbove)
	var mu sync.Mutex                // guards sum and clusterOf
	clusterOf := map[string]string{} // contacts merged in this join, by id: their survivor
	// The batches' components are disjoint, so they are read, resolved and
	// merged side by side (mergeStreams at a time): each merge waits mostly
	// on reads of rows and index pages spread over the tables, and the disk
	// answers more of them at once than one after another.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mergeStreams)
	done, size := 0, cmp.Or(a.JoinBatch, joinBatch)
	for start := 0; start < len(roots); {
		var batch [][]string
		n := 0
		for ; start < len(roots) && n < size; start++ {
			batch = append(batch, components[roots[start]])
			n += len(components[roots[start]])
		}
		g.Go(func() error {
			merges, err := a.resolveComponents(gctx, m, batch, threshold)
			if err != nil {
				return err
			}
			for chunk := range slices.Chunk(merges, mergeBatch) {
				got, err := a.Store.MergeContacts(gctx, chunk...)
				if err != nil {
					return err
				}
				mu.Lock()
				if len(got) > 0 && (sum.FirstMerge == 0 || got[0] < sum.FirstMerge) {
					sum.FirstMerge = got[0]
				}
				for _, mg := range chunk {
					sum.Merges += len(mg.MergedIDs)
					for _, id := range mg.MergedIDs {
						clusterOf[id] = mg.SurvivorID
					}
				}
				done += len(chunk)
				if activity.IsActivity(ctx) {
					activity.RecordHeartbeat(ctx, done) // safe from any goroutine
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return sum, err
	}
	// A pair whose contacts were merged together is decided.
	survivor := func(id string) string { return cmp.Or(clusterOf[id], id) }
	review = slices.DeleteFunc(review, func(p kith.ReviewPair) bool { return survivor(p.A) == survivor(p.B) })
	if err := a.Store.QueueReview(ctx, review); err != nil {
		return sum, err
	}
	sum.Review = len(review)
	return sum, nil
}

// resolveComponents reads a batch of linked components' contacts and resolves
// each component alone with the run's model (the chain guard on its members);
// it returns the merges of the clusters above threshold.
func (a *Dedup) resolveComponents(ctx context.Context, m *storedModel, batch [][]string, threshold float64) ([]kith.Merge, error) {
	var all []string
	for _, comp := range batch {
		all = append(all, comp...)
	}
	mc, err := a.Store.ContactsByID(ctx, all)
	if err != nil {
		return nil, err
	}
	byID := map[string][]kith.MatchRow{} // a contact's rows, its profile's first
	for _, rows := range byHolder(mc.Rows) {
		byID[rows[0].Holder] = rows
	}
	var merges []kith.Merge
	for _, comp := range batch {
		var contacts [][]kith.MatchRow
		for _, id := range comp {
			if c, ok := byID[id]; ok { // merged or archived since: not a candidate
				contacts = append(contacts, c)
			}
		}
		if len(contacts) < 2 {
			continue
		}
		// In the order the whole list is resolved in (oldest first), so
		// ties in the chain guard fall the same way.
		slices.SortFunc(contacts, func(x, y []kith.MatchRow) int {
			return cmp.Or(x[0].CreatedAt.Compare(y[0].CreatedAt), strings.Compare(x[0].Holder, y[0].Holder))
		})
		set := matchSetOf(slices.Concat(contacts...))
		cfg := a.Config
		cfg.Model, cfg.Names, cfg.Same, cfg.Decisions = &m.model, &m.names, set.same, mc.Decisions
		for _, cl := range dedup.Resolve(set.records, cfg).Clusters {
			if mg, ok := set.merge(cl, threshold, dedupActor); ok {
				merges = append(merges, mg)
			}
		}
	}
	return merges, nil
}

// FinishResolution keeps a partitioned run's figures for the quality report.
func (a *Dedup) FinishResolution(ctx context.Context, sum DedupSummary) error {
	return a.record(ctx, sum)
}

// modelVersion returns a stored model by version, read once per worker.
func (a *Dedup) modelVersion(ctx context.Context, version int64) (*storedModel, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m, ok := a.models[version]; ok {
		return m, nil
	}
	stored, err := a.Store.MatchModelVersion(ctx, version)
	if err != nil {
		return nil, err
	}
	m := &storedModel{version: version, names: dedup.NameCounts{Records: stored.Records, First: stored.FirstNames, Last: stored.LastNames}}
	if err := json.Unmarshal(stored.Model, &m.model); err != nil {
		return nil, fmt.Errorf("match model %d: %w", version, err)
	}
	if a.models == nil {
		a.models = map[int64]*storedModel{}
	}
	clear(a.models) // one run at a time needs one model
	a.models[version] = m
	return m, nil
}

// trainReaders is how many ranges of the contacts table's pages TrainModel
// reads side by side, trainPages pages (8 kB each) at a time.
const (
	trainReaders = 4
	trainPages   = 1024
)

// drawn reports whether a record is in a sample of one in every: by its id's
// hash, so a record drawn is drawn on every worker and every retry.
func drawn(id string, every uint64) bool { return fnv64(id)%every == 0 }

// fnv64 is the FNV-1a hash of s: the same on every worker and every retry.
func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
