// The incremental index: new records matched into a resolved set without
// resolving everything again.

package dedup

import (
	"cmp"
	"slices"
)

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
		pairs = pairsInBlocks(fresh, x.norms, x.recs, x.cfg.MaxBlock, x.cfg.Window, pairs, &st)
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
