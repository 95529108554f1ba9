package dedup

import (
	"cmp"
	"math"
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

// DefaultAcceptAbove is the match probability above which pairs merge.
const DefaultAcceptAbove = 0.95

func (c Config) withDefaults() Config {
	if c.AcceptAbove == 0 {
		c.AcceptAbove = DefaultAcceptAbove
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
	return NewIndex(records, cfg).Result()
}

// Result returns the clusters of everything the index holds.
func (x *Index) Result() *Result { return x.finish() }

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
	res     *Result // the clusters as last computed
	// Name frequencies, for term-frequency adjustment: "Ole Hansen" agreeing is
	// weaker evidence than "Ingeborg Ødegård" agreeing.
	firstFreq, lastFreq map[string]int32
	groups              map[int32][]int32 // component members by root, for components of more than one
	split               int               // records cut from chains
}

// NewIndex resolves records and keeps what incremental matching needs.
func NewIndex(records []Record, cfg Config) *Index {
	cfg = cfg.withDefaults()
	x := &Index{cfg: cfg, recs: records, norms: make([]normalized, len(records), len(records)+len(records)/16)}
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
	x.firstFreq, x.lastFreq = map[string]int32{}, map[string]int32{}
	x.countNames(x.norms)
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
	for key := range x.decided { // a reviewer's pair is compared, whatever the blocks say
		pairs = append(pairs, key)
	}
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
	x.groups = map[int32][]int32{}
	x.parent = make([]int32, len(records), len(records)+len(records)/16)
	for i := range x.parent {
		x.parent[i] = int32(i)
	}
	x.link(pairs, pats)
	x.stats.Records = len(records)
	x.stats.Comparisons = len(pairs)
	if len(records) > 0 {
		x.stats.PerRecord = float64(len(pairs)) / float64(len(records))
	}
	x.result()
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
	for k, key := range pairs {
		a, b := unpair(key)
		prob := x.probability(a, b, pats[k])
		merge, decided := x.decided[key]
		switch {
		case decided && merge, !decided && x.accepts(pats[k], prob):
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
	if ra == rb {
		return
	}
	lo, hi := min(ra, rb), max(ra, rb)
	x.parent[hi] = lo
	// Members by root, so an incremental run finds a component without a scan.
	gl, gh := x.groups[lo], x.groups[hi]
	if gl == nil {
		gl = []int32{lo}
	}
	if gh == nil {
		gh = []int32{hi}
	}
	x.groups[lo] = append(gl, gh...)
	delete(x.groups, hi)
}

// members returns the records of root's component.
func (x *Index) members(root int32) []int32 {
	if g := x.groups[root]; g != nil {
		return slices.Clone(g)
	}
	return []int32{root}
}

// Model returns the weights in use.
func (x *Index) Model() Model { return x.model }

// result builds the clusters, guarding them against chaining, and their golden
// records.
func (x *Index) result() *Result {
	groups := map[int32][]int32{}
	for i := range x.recs {
		r := x.find(int32(i))
		groups[r] = append(groups[r], int32(i))
	}
	res := &Result{ClusterOf: make(map[string]string, len(x.recs)), Model: x.model}
	roots := make([]int32, 0, len(groups))
	for r := range groups {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, r := range roots {
		x.cluster(res, groups[r])
	}
	x.res = res
	return x.finish()
}

// cluster adds the clusters of one connected component to res.
func (x *Index) cluster(res *Result, members []int32) {
	if len(members) == 1 {
		res.ClusterOf[x.recs[members[0]].ID] = x.recs[members[0]].ID
		return
	}
	for _, group := range x.cannotLink(members, &x.split) {
		for _, part := range x.guard(group, &x.split) {
			x.addCluster(res, part)
		}
	}
}

// cannotLink re-clusters a component so that no cluster holds two records that
// are certainly different people (vetoed by the model, or kept apart by a
// reviewer): a record missing its birth date can otherwise chain two relatives
// together. Links are applied strongest first, each only if it joins no such
// pair.
func (x *Index) cannotLink(members []int32, split *int) [][]int32 {
	if len(members) <= 2 || len(members) > 200 {
		return [][]int32{members}
	}
	type edge struct {
		a, b int
		p    float64
	}
	var edges []edge
	cannot := map[[2]int]bool{}
	for i, a := range members {
		for j := i + 1; j < len(members); j++ {
			b := members[j]
			merge, decided := x.decided[pairKey(a, b)]
			p := compare(&x.norms[a], &x.norms[b])
			_, possible := x.model.logOdds(p)
			switch {
			case decided && !merge, !decided && !possible:
				cannot[[2]int{i, j}] = true
			case decided && merge:
				edges = append(edges, edge{i, j, 1})
			default:
				if prob := x.probability(a, b, p); x.accepts(p, prob) {
					edges = append(edges, edge{i, j, prob})
				}
			}
		}
	}
	if len(cannot) == 0 {
		return [][]int32{members}
	}
	slices.SortStableFunc(edges, func(e, f edge) int { return cmp.Compare(f.p, e.p) })
	group := make([]int, len(members))
	for i := range group {
		group[i] = i
	}
	for _, e := range edges {
		ga, gb := group[e.a], group[e.b]
		if ga == gb {
			continue
		}
		ok := true
		for i := range members {
			for j := range members {
				if i < j && ((group[i] == ga && group[j] == gb) || (group[i] == gb && group[j] == ga)) && cannot[[2]int{i, j}] {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		for i := range group {
			if group[i] == gb {
				group[i] = ga
			}
		}
	}
	byGroup := map[int][]int32{}
	var order []int
	for i, g := range group {
		if _, seen := byGroup[g]; !seen {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], members[i])
	}
	out := make([][]int32, 0, len(order))
	for _, g := range order {
		out = append(out, byGroup[g])
	}
	*split += len(out) - 1
	return out
}

// finish brings the cached result's statistics and review queue up to date.
func (x *Index) finish() *Result {
	res := x.res
	res.Review = x.review
	res.Stats = x.stats
	res.Stats.Split = x.split
	for _, c := range res.Clusters {
		res.Stats.Clusters++
		res.Stats.Merged += len(c.Members) - 1
		if len(c.Members) > x.cfg.MaxCluster {
			res.Stats.Oversized++
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
func (x *Index) guard(members []int32, split *int) [][]int32 {
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
			if (decided && merge) || (!decided && x.accepts(p, x.probability(a, b, p))) {
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
	*split += len(rest)
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
		out = append(out, x.guard(comp, split)...)
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

// Add matches new records into the index without resolving everything again:
// each is blocked against the existing records (by binary search in the sorted
// keys) and against the other new ones, compared with the model already
// estimated, and linked. An existing record changes cluster only when a new link
// really merges its cluster with another.
func (x *Index) Add(records []Record) *Result {
	from := len(x.recs)
	x.recs = append(x.recs, records...)
	norms := make([]normalized, len(records))
	parallel(len(records), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			norms[i] = normalize(&records[i])
		}
	})
	x.norms = append(x.norms, norms...)
	x.countNames(norms)
	for i := range records {
		x.byID[records[i].ID] = int32(from + i)
		x.parent = append(x.parent, int32(from+i))
	}
	x.decisions()
	var pairs []uint64
	var st Stats
	for ri := range rules {
		fresh := blockKeys(norms, ri, from)
		pairs = pairsInBlocks(fresh, x.norms, x.cfg.MaxBlock, x.cfg.Window, pairs, &st)
		old := x.keys[ri]
		for _, k := range fresh {
			lo, _ := slices.BinarySearchFunc(old, k.h, func(e keyed, h uint64) int { return cmp.Compare(e.h, h) })
			for j := lo; j < len(old) && old[j].h == k.h && j-lo < x.cfg.MaxBlock; j++ {
				pairs = append(pairs, pairKey(old[j].id, k.id))
			}
		}
		x.keys[ri] = mergeKeys(old, fresh)
	}
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)
	x.link(pairs, x.comparePairs(pairs))

	// Only the components that gained a record change: recompute those.
	touched := map[int32]bool{}
	for i := from; i < len(x.recs); i++ {
		touched[x.find(int32(i))] = true
	}
	res := x.res
	kept := res.Clusters[:0]
	for _, c := range res.Clusters {
		if root := x.find(x.byID[c.ID]); touched[root] {
			continue // rebuilt below with its new members
		}
		kept = append(kept, c)
	}
	res.Clusters = kept
	roots := make([]int32, 0, len(touched))
	for r := range touched {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, r := range roots {
		x.cluster(res, x.members(r))
	}
	x.stats.Records = len(x.recs)
	x.stats.Comparisons += len(pairs)
	x.stats.PerRecord = float64(x.stats.Comparisons) / float64(len(x.recs))
	x.stats.OversizedBlocks += st.OversizedBlocks
	return x.finish()
}

// mergeKeys merges sorted b into sorted a, in place from the back when a has the
// capacity (it is allocated with headroom), so an incremental run does not copy
// the index.
func mergeKeys(a, b []keyed) []keyed {
	n := len(a)
	a = slices.Grow(a, len(b))[:n+len(b)]
	i, j, k := n-1, len(b)-1, n+len(b)-1
	for j >= 0 {
		if i >= 0 && (a[i].h > b[j].h || (a[i].h == b[j].h && a[i].id > b[j].id)) {
			a[k] = a[i]
			i--
		} else {
			a[k] = b[j]
			j--
		}
		k--
	}
	return a
}

func (x *Index) countNames(norms []normalized) {
	for i := range norms {
		if n := &norms[i]; n.firstCanon != "" {
			x.firstFreq[n.firstCanon]++
		}
		if n := &norms[i]; n.last != "" {
			x.lastFreq[n.last]++
		}
	}
}

// probability is the model's match probability for a pair, with the agreement
// on exact names weighed by how common the name is (term-frequency adjustment):
// the average u of an exact name match is replaced by the share of records with
// that very name.
func (x *Index) probability(a, b int32, p pattern) float64 {
	w, ok := x.model.logOdds(p)
	if !ok {
		return 0
	}
	adj := 0.0
	n := float64(len(x.norms))
	if p.level(fFirst) == 1 && x.norms[a].firstCanon == x.norms[b].firstCanon {
		if f := float64(x.firstFreq[x.norms[a].firstCanon]); f > 0 {
			adj += math.Log2(x.model.U[fFirst][1] / max(f/n, 1/n))
		}
	}
	if p.level(fLast) == 1 && x.norms[a].last == x.norms[b].last {
		if f := float64(x.lastFreq[x.norms[a].last]); f > 0 {
			adj += math.Log2(x.model.U[fLast][1] / max(f/n, 1/n))
		}
	}
	return 1 / (1 + math.Exp2(-(w + adj)))
}

// accepts decides an automatic merge: the probability is above the threshold and
// the records agree on something that identifies one person — email, phone or
// birth date. Names and an address alone, however likely, go to review: two
// namesakes in one postal code are not rare in a large list.
func (x *Index) accepts(p pattern, prob float64) bool {
	if prob < x.cfg.AcceptAbove {
		return false
	}
	return p.level(fEmail) == 1 || p.level(fEmail) == 2 || p.level(fPhone) == 1 || p.level(fPhone) == 2 ||
		p.level(fBirth) == 1 || p.level(fBirth) == 2
}
