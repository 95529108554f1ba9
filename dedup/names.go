// Name frequencies kept between runs: a new record is matched with the model
// and the name counts the last full run measured, so one contact is scored as
// the whole list would score it.

package dedup

// NameCounts are how many records of the last full run held each first and
// each last name, for the term-frequency adjustment ("Ole Hansen" agreeing is
// weaker evidence than "Ingeborg Ødegård" agreeing). Names are kept as hashes
// of their folded form: counts, not a list of people's names.
type NameCounts struct {
	Records int              `json:"records"`
	First   map[uint64]int32 `json:"-"`
	Last    map[uint64]int32 `json:"-"`
}

// NameCounts returns the counts of every name the index holds.
func (x *Index) NameCounts() NameCounts {
	nc := NameCounts{Records: len(x.norms), First: make(map[uint64]int32, len(x.firstFreq)), Last: make(map[uint64]int32, len(x.lastFreq))}
	for name, n := range x.firstFreq {
		nc.First[hashKey(name)] = n
	}
	for name, n := range x.lastFreq {
		nc.Last[hashKey(name)] = n
	}
	return nc
}

// nameFreq is how many records share a name, and out of how many: from the
// stored counts when the index matches against a stored list (a name they do
// not hold counts once: this record's), else the index's own.
func (x *Index) nameFreq(first bool, name string) (f, n float64) {
	if nc := x.cfg.Names; nc != nil && nc.Records > 0 {
		counts := nc.Last
		if first {
			counts = nc.First
		}
		return float64(max(counts[hashKey(name)], 1)), float64(max(nc.Records, len(x.norms)))
	}
	counts := x.lastFreq
	if first {
		counts = x.firstFreq
	}
	return float64(counts[name]), float64(len(x.norms))
}

// ColdStartModel is the model for matching before any full run has estimated
// one: cautious default m and u by field and level, and the prior of a small
// list (minRecordsForU records) in which one record in ten has a duplicate.
func ColdStartModel() Model {
	n := float64(minRecordsForU)
	m := Model{U: defaultU, Prior: 0.1 * n / (n * (n - 1) / 2)}
	for f := range numFields {
		m.M[f] = defaultM(f)
	}
	return m
}
