// Partitioned resolution: a list too large for one process is resolved in
// parts of the key space. Each part scores the pairs of its blocks with a
// model fixed beforehand and returns links; the links' connected components
// are then resolved one by one (Resolve on a component's records, with the
// same model, gives the clusters the whole list would: every link of the
// component is proposed again inside it, and the chain guard looks at every
// pair of the component anyway).

package dedup

import (
	"cmp"
	"math"
	"slices"
)

// Histogram counts comparison vectors of candidate pairs: what the model is
// estimated from. Histograms of parts of the key space add up.
type Histogram map[uint32]float64

// Add adds h's counts to g.
func (g Histogram) Add(h Histogram) {
	for p, n := range h {
		g[p] += n
	}
}

// partIndex is an index over one part's records that scores with cfg.Model and
// cfg.Names, without blocking or clustering of its own.
func partIndex(records []Record, cfg Config) *Index {
	cfg = cfg.withDefaults()
	x := &Index{cfg: cfg, recs: records, norms: make([]normalized, len(records)), byID: make(map[string]int32, len(records))}
	parallel(len(records), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x.norms[i] = normalize(&records[i])
		}
	})
	for i := range records {
		x.byID[records[i].ID] = int32(i)
	}
	x.decisions()
	x.same = map[uint64]bool{}
	for _, g := range cfg.Same {
		first, ok := x.byID[g[0]]
		for _, id := range g[1:] {
			if other, ok2 := x.byID[id]; ok && ok2 && other != first {
				k := pairKey(first, other)
				x.decided[k], x.same[k] = true, true
			}
		}
	}
	x.firstFreq, x.lastFreq = map[string]int32{}, map[string]int32{}
	if cfg.Names == nil {
		x.countNames(x.norms)
	}
	if cfg.Model != nil {
		x.model = *cfg.Model
	}
	return x
}

// partPairs are the candidate pairs of the blocks whose key in is true for,
// proposed as NewIndex proposes them over the whole list: a block holds the
// same records whichever part reads it.
func (x *Index) partPairs(in func(key int64) bool, st *Stats) []uint64 {
	var pairs []uint64
	for ri := range rules {
		keys := blockKeys(x.norms, ri, 0)
		kept := keys[:0]
		for _, k := range keys {
			if in(int64(k.h)) {
				kept = append(kept, k)
			}
		}
		pairs = pairsInBlocks(kept, x.norms, x.recs, x.cfg.MaxBlock, x.cfg.Window, pairs, st)
	}
	slices.Sort(pairs)
	return slices.Compact(pairs)
}

// ScoreBlocks scores the candidate pairs of the blocks whose key in is true
// for (a part of the key space), among records that hold every record of those
// blocks, with cfg.Model and cfg.Names: it returns the pairs linked (the model
// accepts them, or a reviewer merged them) and the pairs for review, by record
// id, as NewIndex would decide them. With cfg.Changed, only the pairs it
// names.
func ScoreBlocks(records []Record, in func(key int64) bool, cfg Config) (links, review []Pair, st Stats) {
	x := partIndex(records, cfg)
	pairs := x.partPairs(in, &st)
	if cfg.Changed != nil {
		pairs = slices.DeleteFunc(pairs, func(k uint64) bool {
			a, b := unpair(k)
			return !cfg.Changed(int(a)) && !cfg.Changed(int(b))
		})
	}
	pats := x.comparePairs(pairs)
	owned := 0
	for k, key := range pairs {
		if in(x.owner(key)) {
			owned++
		}
		if x.same[key] {
			continue // one contact's own records
		}
		switch linked, r := x.decide(key, pats[k]); {
		case linked:
			a, b := unpair(key)
			links = append(links, Pair{A: x.recs[a].ID, B: x.recs[b].ID, Probability: x.probability(a, b, pats[k])})
		case r != nil:
			review = append(review, *r)
		}
	}
	// Comparisons counts the pairs this part owns: the parts' counts add up
	// to the whole list's.
	st.Records, st.Comparisons, st.Links, st.Review = len(records), owned, len(links), len(review)
	return links, review, st
}

// HistogramOf counts the comparison vectors of the candidate pairs of the
// blocks whose key in is true for, leaving out pairs known to be one person
// (cfg.Same), as NewIndex's training does.
func HistogramOf(records []Record, in func(key int64) bool, cfg Config) Histogram {
	x := partIndex(records, cfg)
	var st Stats
	pairs := x.partPairs(in, &st)
	pats := x.comparePairs(pairs)
	h := Histogram{}
	for k, key := range pairs {
		if !x.same[key] && in(x.owner(key)) {
			h[uint32(pats[k])]++
		}
	}
	return h
}

// owner is the key that owns a pair among the parts: the smallest key the two
// records share. A pair two blocks propose is counted once, by the part that
// holds its owner.
func (x *Index) owner(key uint64) int64 {
	a, b := unpair(key)
	owner, found := int64(0), false
	for ri := range rules {
		if k, ok := sharedKey(&x.norms[a], &x.norms[b], ri); ok && (!found || k < owner) {
			owner, found = k, true
		}
	}
	return owner
}

// TrainModel estimates the model from a histogram of candidate pairs, with u
// from random pairs of sample (records drawn at random from the list) and the
// prior over every pair of a list of n records: what NewIndex estimates from a
// whole list, from parts of it.
func TrainModel(h Histogram, sample []Record, n int) Model {
	norms := make([]normalized, len(sample))
	parallel(len(sample), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			norms[i] = normalize(&sample[i])
		}
	})
	hist := make(map[pattern]float64, len(h))
	for p, c := range h {
		hist[pattern(p)] += c
	}
	return trainModel(hist, estimateU(sample, norms, 200000, 1), 25, cmp.Or(n, len(sample)))
}

// CountNames counts the first and last names of records, for NameCounts:
// counts of parts of a list add up.
func CountNames(records []Record, into *NameCounts) {
	if into.First == nil {
		into.First, into.Last = map[uint64]int32{}, map[uint64]int32{}
	}
	for i := range records {
		n := normalize(&records[i])
		if n.firstCanon != "" {
			into.First[hashKey(n.firstCanon)]++
		}
		if n.last != "" {
			into.Last[hashKey(n.last)]++
		}
	}
	into.Records += len(records)
}

// Add adds the counts of another part of a list to n.
func (n *NameCounts) Add(o NameCounts) {
	if n.First == nil {
		n.First, n.Last = map[uint64]int32{}, map[uint64]int32{}
	}
	for h, c := range o.First {
		n.First[h] += c
	}
	for h, c := range o.Last {
		n.Last[h] += c
	}
	n.Records += o.Records
}

// KeyPart is the part of the key space, of parts, that a blocking key falls in:
// contiguous ranges of the keys' order, so a part is one range scan of the
// store's key index.
func KeyPart(key int64, parts int) int {
	if parts <= 1 {
		return 0
	}
	u := uint64(key) ^ 1<<63 // order-preserving: math.MinInt64 → 0
	return int(u / (math.MaxUint64/uint64(parts) + 1))
}

// KeyRange is the keys of one part: lo ≤ key ≤ hi.
func KeyRange(part, parts int) (lo, hi int64) {
	if parts <= 1 {
		return math.MinInt64, math.MaxInt64
	}
	width := math.MaxUint64/uint64(parts) + 1
	l := uint64(part) * width
	h := l + width - 1
	if part == parts-1 {
		h = math.MaxUint64
	}
	return int64(l ^ 1<<63), int64(h ^ 1<<63)
}
