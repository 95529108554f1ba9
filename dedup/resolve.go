package dedup

import (
	"runtime"
	"slices"
	"sync"
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
	// Names, when set, are the name counts of the list the records are matched
	// against (the last full run's), used instead of the records' own.
	Names *NameCounts
	// Decisions are earlier reviewers' decisions on pairs of record ids: true
	// merges, false keeps apart, whatever the score.
	Decisions map[[2]string]bool
	// Same are groups of record ids known to be one person whatever they hold
	// (a contact and the source records it received): linked like a reviewer's
	// merge, and left out of the model's training, which they would bias
	// towards agreement.
	Same [][]string
	// Changed, when set, restricts a part's scoring (ScoreBlocks) to the pairs
	// with a record (by index) it is true for: in a later round, a pair whose
	// records both stood still was scored the round before with the same model.
	Changed func(record int) bool
}

// DefaultAcceptAbove is the match probability above which pairs merge. On the
// labelled "hard" set the pairs between 0.90 and 0.95 are 93% true matches (the
// model is slightly under-confident), so merging them raises F1; below 0.90 they
// go to review.
const DefaultAcceptAbove = 0.90

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
	// Reason says why a pair above the accept threshold was not merged.
	Reason string `json:"reason,omitempty"`
}

// Cluster is one resolved person.
type Cluster struct {
	ID      string   `json:"id"`      // the id of its oldest record: stable across runs
	Members []string `json:"members"` // record ids, the survivor first
	Golden  Golden   `json:"golden"`
	// Weakest is the match probability of the weakest link that holds the
	// cluster together (the smallest edge of its strongest spanning tree); a
	// reviewer's merge counts as 1.
	Weakest float64 `json:"weakest"`
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
	same    map[uint64]bool // pairs of records known to be one person (Config.Same)
	res     *Result         // the clusters as last computed
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
	same := map[uint64]bool{}
	for _, g := range cfg.Same {
		first, ok := x.byID[g[0]]
		for _, id := range g[1:] {
			if other, ok2 := x.byID[id]; ok && ok2 && other != first {
				k := pairKey(first, other)
				x.decided[k], same[k] = true, true
			}
		}
	}
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
			ps := pairsInBlocks(keys, x.norms, x.recs, cfg.MaxBlock, cfg.Window, nil, &st)
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
		for k, p := range pats {
			if !same[pairs[k]] {
				hist[p]++
			}
		}
		x.model = trainModel(hist, estimateU(x.recs, x.norms, 200000, 1), 25, len(records))
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

// Model returns the weights in use.
func (x *Index) Model() Model { return x.model }

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
