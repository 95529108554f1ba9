package dedup

import (
	"math"
	"slices"
	"testing"
)

// partitionedResolve resolves records in parts of the key space, as the
// partitioned Deduplicate does through the store: a model from the parts'
// histograms, links from each part, then each linked component resolved alone.
func partitionedResolve(records []Record, parts int) (*Result, Model, int) {
	in := func(p int) func(int64) bool {
		return func(k int64) bool { return KeyPart(k, parts) == p }
	}
	h := Histogram{}
	var names NameCounts
	CountNames(records, &names)
	for p := range parts {
		h.Add(HistogramOf(records, in(p), Config{}))
	}
	m := TrainModel(h, records, len(records))
	cfg := Config{Model: &m, Names: &names}
	parent := map[string]string{}
	var find func(string) string
	find = func(id string) string {
		if p, ok := parent[id]; ok && p != id {
			r := find(p)
			parent[id] = r
			return r
		}
		return id
	}
	var review []Pair
	for p := range parts {
		links, r, _ := ScoreBlocks(records, in(p), cfg)
		review = append(review, r...)
		for _, l := range links {
			ra, rb := find(l.A), find(l.B)
			if ra != rb {
				parent[max(ra, rb)] = min(ra, rb)
			}
		}
	}
	byRoot := map[string][]Record{}
	for _, r := range records {
		root := find(r.ID)
		byRoot[root] = append(byRoot[root], r)
	}
	res := &Result{ClusterOf: map[string]string{}}
	roots := make([]string, 0, len(byRoot))
	for r := range byRoot {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, root := range roots {
		comp := byRoot[root]
		if len(comp) == 1 {
			res.ClusterOf[comp[0].ID] = comp[0].ID
			continue
		}
		sub := Resolve(comp, cfg)
		for id, c := range sub.ClusterOf {
			res.ClusterOf[id] = c
		}
		res.Clusters = append(res.Clusters, sub.Clusters...)
	}
	seen := map[[2]string]bool{}
	for _, p := range review {
		seen[[2]string{min(p.A, p.B), max(p.A, p.B)}] = true
	}
	return res, m, len(seen)
}

func TestPartitionedResolutionGivesTheSameClusters(t *testing.T) {
	records := Records(Generate(6000, Difficulties["hard"], 11))
	single := Resolve(records, Config{})
	ids := make([]string, len(records))
	truth := make([]int, len(records))
	clusterNo := map[string]int{}
	for i, r := range records {
		ids[i] = r.ID
		c := single.ClusterOf[r.ID]
		if _, ok := clusterNo[c]; !ok {
			clusterNo[c] = len(clusterNo)
		}
		truth[i] = clusterNo[c]
	}
	for _, parts := range []int{1, 4, 16} {
		res, m, review := partitionedResolve(records, parts)
		ev := EvaluateIDs(ids, truth, res)
		t.Logf("%d parts: pairwise F1 against the single process %.5f (precision %.5f, recall %.5f, %d pairs); prior %.3g vs %.3g; review %d vs %d",
			parts, ev.F1, ev.Precision, ev.Recall, ev.TruePairs, m.Prior, single.Model.Prior, review, len(single.Review))
		if ev.F1 < 0.999 {
			t.Errorf("%d parts: F1 %.5f against the single-process clusters, want ≥ 0.999", parts, ev.F1)
		}
		if d := math.Abs(m.Prior-single.Model.Prior) / single.Model.Prior; d > 0.01 {
			t.Errorf("%d parts: prior %.4g, single process %.4g", parts, m.Prior, single.Model.Prior)
		}
	}
}

func TestKeyPartsAreTheRangesOfTheirKeys(t *testing.T) {
	keys := []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64}
	for _, r := range Records(Generate(200, Difficulties["hard"], 3)) {
		keys = append(keys, BlockingKeys(&r)...)
	}
	for _, parts := range []int{1, 2, 3, 16, 1000} {
		for _, k := range keys {
			p := KeyPart(k, parts)
			lo, hi := KeyRange(p, parts)
			if p < 0 || p >= parts || k < lo || k > hi {
				t.Fatalf("%d parts: key %d in part %d [%d, %d]", parts, k, p, lo, hi)
			}
		}
		if lo, _ := KeyRange(0, parts); lo != math.MinInt64 {
			t.Errorf("%d parts: the first starts at %d", parts, lo)
		}
		if _, hi := KeyRange(parts-1, parts); hi != math.MaxInt64 {
			t.Errorf("%d parts: the last ends at %d", parts, hi)
		}
	}
}

// TestScoreBlocksChangedScoresOnlyTheirPairs: with Changed, a part's links and
// review pairs are exactly those of the whole part that touch a changed record.
func TestScoreBlocksChangedScoresOnlyTheirPairs(t *testing.T) {
	records := Records(Generate(3000, Difficulties["hard"], 5))
	all := func(int64) bool { return true }
	changed := func(i int) bool { return i%7 == 0 }
	isChanged := map[string]bool{}
	for i, r := range records {
		isChanged[r.ID] = changed(i)
	}
	touching := func(ps []Pair) []Pair {
		var out []Pair
		for _, p := range ps {
			if isChanged[p.A] || isChanged[p.B] {
				out = append(out, p)
			}
		}
		return out
	}
	var names NameCounts
	CountNames(records, &names)
	m := TrainModel(HistogramOf(records, all, Config{}), records, len(records))
	links, review, st := ScoreBlocks(records, all, Config{Model: &m, Names: &names})
	cfg := Config{Model: &m, Names: &names, Changed: changed}
	someLinks, someReview, someSt := ScoreBlocks(records, all, cfg)
	if want := touching(links); len(want) == 0 || !slices.Equal(someLinks, want) {
		t.Errorf("links with Changed: %d, want the %d of %d that touch a changed record", len(someLinks), len(want), len(links))
	}
	if want := touching(review); !slices.Equal(someReview, want) {
		t.Errorf("review pairs with Changed: %d, want %d of %d", len(someReview), len(want), len(review))
	}
	if someSt.Comparisons >= st.Comparisons {
		t.Errorf("comparisons with Changed %d, without %d", someSt.Comparisons, st.Comparisons)
	}
}
