package dedup

import (
	"cmp"
	"runtime"
	"slices"
	"sync"

	"github.com/kithhq/kith"
)

// Config tunes resolution. The zero value uses the defaults.
type Config struct {
	// AcceptAbove and ReviewAbove are the match-probability thresholds: pairs above
	// AcceptAbove merge automatically, pairs between go to the review queue.
	AcceptAbove, ReviewAbove float64
	// MaxBlock is the largest block compared pair by pair; Window the neighbours
	// each record is compared with in a larger block.
	MaxBlock, Window int
	// MaxCluster is the size above which a cluster is reported as oversized.
	MaxCluster int
	// Model, when set, is used as is instead of being estimated from the data.
	Model *Model
	// Decisions are earlier reviewers' decisions on pairs of record ids: true
	// merges, false keeps apart, whatever the score.
	Decisions map[[2]string]bool
}

func (c Config) withDefaults() Config {
	if c.AcceptAbove == 0 {
		c.AcceptAbove = 0.95
	}
	if c.ReviewAbove == 0 {
		c.ReviewAbove = 0.5
	}
	if c.MaxBlock == 0 {
		c.MaxBlock = 40
	}
	if c.Window == 0 {
		c.Window = 8
	}
	if c.MaxCluster == 0 {
		c.MaxCluster = 50
	}
	return c
}

// Stats describe a run.
type Stats struct {
	Records         int     `json:"records"`
	Comparisons     int     `json:"comparisons"`
	PerRecord       float64 `json:"comparisons_per_record"`
	OversizedBlocks int     `json:"oversized_blocks"`
	Links           int     `json:"links"`
	Review          int     `json:"review"`
	Clusters        int     `json:"clusters"` // with more than one record
	Merged          int     `json:"merged"`   // records merged into another
	Split           int     `json:"split"`    // records cut from a chain by the centre rule
	Oversized       int     `json:"oversized_clusters"`
}

// Pair is a scored pair of records.
type Pair struct {
	A           string  `json:"a"`
	B           string  `json:"b"`
	Probability float64 `json:"probability"`
}

// Cluster is one resolved person.
type Cluster struct {
	ID      string   `json:"id"`      // the id of its oldest record: stable across runs
	Members []string `json:"members"` // record ids, the survivor first
	Golden  Golden   `json:"golden"`
}

// Result of a resolution.
type Result struct {
	// ClusterOf maps every record id to its cluster id (its own id when alone).
	ClusterOf map[string]string
	// Clusters lists the clusters with more than one record.
	Clusters []Cluster
	Review   []Pair // pairs for a person to decide
	Model    Model
	Stats    Stats
}

// Resolve de-duplicates records.
func Resolve(records []Record, cfg Config) *Result {
	idx := NewIndex(records, cfg)
	return idx.result()
}

// Index is a resolved set of records that new records can be matched into
// without resolving everything again.
type Index struct {
	cfg     Config
	recs    []Record
	norms   []normalized
	keys    [][]keyed // per rule, sorted
	parent  []int32   // union-find over accepted links
	model   Model
	review  []Pair
	stats   Stats
	byID    map[string]int32
	decided map[uint64]bool
}

// NewIndex resolves records and keeps what incremental matching needs.
func NewIndex(records []Record, cfg Config) *Index {
	cfg = cfg.withDefaults()
	x := &Index{cfg: cfg, recs: records, norms: make([]normalized, len(records))}
	parallel(len(records), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x.norms[i] = normalize(&records[i])
		}
	})
	x.byID = make(map[string]int32, len(records))
	for i := range records {
		x.byID[records[i].ID] = int32(i)
	}
	x.decisions()
	x.keys = make([][]keyed, len(rules))
	var mu sync.Mutex
	var pairs []uint64
	var wg sync.WaitGroup
	for ri := range rules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := blockKeys(x.norms, ri, 0)
			var st Stats
			ps := pairsInBlocks(keys, x.norms, cfg.MaxBlock, cfg.Window, nil, &st)
			mu.Lock()
			x.keys[ri] = keys
			pairs = append(pairs, ps...)
			x.stats.OversizedBlocks += st.OversizedBlocks
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)

	pats := x.comparePairs(pairs)
	if cfg.Model != nil {
		x.model = *cfg.Model
	} else {
		hist := map[pattern]float64{}
		for _, p := range pats {
			hist[p]++
		}
		x.model = trainModel(hist, estimateU(x.norms, 200000, 1), 25, len(records))
	}
	x.parent = make([]int32, len(records))
	for i := range x.parent {
		x.parent[i] = int32(i)
	}
	x.link(pairs, pats)
	x.stats.Records = len(records)
	x.stats.Comparisons = len(pairs)
	if len(records) > 0 {
		x.stats.PerRecord = float64(len(pairs)) / float64(len(records))
	}
	return x
}

func (x *Index) decisions() {
	x.decided = map[uint64]bool{}
	for ids, merge := range x.cfg.Decisions {
		a, okA := x.byID[ids[0]]
		b, okB := x.byID[ids[1]]
		if okA && okB {
			x.decided[pairKey(a, b)] = merge
		}
	}
}

// comparePairs computes the comparison vectors, on every core.
func (x *Index) comparePairs(pairs []uint64) []pattern {
	pats := make([]pattern, len(pairs))
	parallel(len(pairs), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			a, b := unpair(pairs[k])
			pats[k] = compare(&x.norms[a], &x.norms[b])
		}
	})
	return pats
}

// link applies the thresholds (and earlier decisions) to scored pairs.
func (x *Index) link(pairs []uint64, pats []pattern) {
	probs := map[pattern]float64{}
	for k, key := range pairs {
		prob, ok := probs[pats[k]]
		if !ok {
			prob = x.model.Probability(pats[k])
			probs[pats[k]] = prob
		}
		merge, decided := x.decided[key]
		a, b := unpair(key)
		switch {
		case decided && merge, !decided && prob >= x.cfg.AcceptAbove:
			x.union(a, b)
			x.stats.Links++
		case !decided && prob >= x.cfg.ReviewAbove:
			x.review = append(x.review, Pair{A: x.recs[a].ID, B: x.recs[b].ID, Probability: prob})
		}
	}
	x.stats.Review = len(x.review)
}

func (x *Index) find(i int32) int32 {
	for x.parent[i] != i {
		x.parent[i] = x.parent[x.parent[i]]
		i = x.parent[i]
	}
	return i
}

func (x *Index) union(a, b int32) {
	ra, rb := x.find(a), x.find(b)
	if ra != rb {
		x.parent[max(ra, rb)] = min(ra, rb)
	}
}

// Model returns the weights in use.
func (x *Index) Model() Model { return x.model }

// result builds the clusters, guarding them against chaining, and their golden
// records.
func (x *Index) result() *Result {
	groups := map[int32][]int32{}
	for i := range x.recs {
		r := x.find(int32(i))
		if r != int32(i) || len(groups[r]) > 0 {
			groups[r] = append(groups[r], int32(i))
		} else {
			groups[r] = append(groups[r], r)
		}
	}
	res := &Result{ClusterOf: make(map[string]string, len(x.recs)), Model: x.model, Review: x.review}
	roots := make([]int32, 0, len(groups))
	for r := range groups {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, r := range roots {
		members := groups[r]
		if len(members) == 1 {
			res.ClusterOf[x.recs[members[0]].ID] = x.recs[members[0]].ID
			continue
		}
		for _, part := range x.guard(members, &res.Stats) {
			x.addCluster(res, part)
		}
	}
	st := &res.Stats
	split := st.Split
	*st = x.stats
	st.Split = split
	for _, c := range res.Clusters {
		st.Clusters++
		st.Merged += len(c.Members) - 1
		if len(c.Members) > x.cfg.MaxCluster {
			st.Oversized++
		}
	}
	return res
}

func (x *Index) addCluster(res *Result, members []int32) {
	if len(members) == 1 {
		id := x.recs[members[0]].ID
		res.ClusterOf[id] = id
		return
	}
	// The oldest record survives: its id is the cluster's, so ids stay stable.
	slices.SortFunc(members, func(a, b int32) int {
		ra, rb := &x.recs[a], &x.recs[b]
		return cmp.Or(ra.CreatedAt.Compare(rb.CreatedAt), cmp.Compare(ra.ID, rb.ID))
	})
	c := Cluster{ID: x.recs[members[0]].ID}
	rs := make([]*Record, len(members))
	for i, m := range members {
		c.Members = append(c.Members, x.recs[m].ID)
		res.ClusterOf[x.recs[m].ID] = c.ID
		rs[i] = &x.recs[m]
	}
	c.Golden = GoldenRecord(rs)
	res.Clusters = append(res.Clusters, c)
}

// guard splits a cluster that only chains together: every member must be within
// two accepted links of the cluster's centre (the member with most links);
// members further out form clusters of their own.
func (x *Index) guard(members []int32, st *Stats) [][]int32 {
	if len(members) <= 3 || len(members) > 200 {
		// Small ones cannot chain much; huge ones cost too much to check pair by
		// pair and are reported as oversized instead.
		return [][]int32{members}
	}
	in := map[int32]bool{}
	for _, m := range members {
		in[m] = true
	}
	adj := map[int32][]int32{}
	for i, a := range members {
		for _, b := range members[i+1:] {
			p := compare(&x.norms[a], &x.norms[b])
			merge, decided := x.decided[pairKey(a, b)]
			if (decided && merge) || (!decided && x.model.Probability(p) >= x.cfg.AcceptAbove) {
				adj[a] = append(adj[a], b)
				adj[b] = append(adj[b], a)
			}
		}
	}
	centre := members[0]
	for _, m := range members {
		if len(adj[m]) > len(adj[centre]) {
			centre = m
		}
	}
	near := map[int32]bool{centre: true}
	for _, n := range adj[centre] {
		near[n] = true
		for _, nn := range adj[n] {
			near[nn] = true
		}
	}
	var kept, rest []int32
	for _, m := range members {
		if near[m] {
			kept = append(kept, m)
		} else {
			rest = append(rest, m)
		}
	}
	if len(rest) == 0 {
		return [][]int32{kept}
	}
	st.Split += len(rest)
	out := [][]int32{kept}
	// The rest: their own components over the accepted links among them.
	seen := map[int32]bool{}
	for _, m := range rest {
		if seen[m] {
			continue
		}
		var comp []int32
		stack := []int32{m}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[n] || near[n] {
				continue
			}
			seen[n] = true
			comp = append(comp, n)
			stack = append(stack, adj[n]...)
		}
		out = append(out, x.guard(comp, st)...)
	}
	return out
}

// parallel runs fn over [0, n) in one chunk per core.
func parallel(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 1000 || workers == 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, min(lo+chunk, n))
		}()
	}
	wg.Wait()
}

// Golden is a cluster's best record, each field with the provenance of the
// record it came from.
type Golden map[kith.Field]kith.Value
