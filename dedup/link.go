// Linking: compare the candidate pairs blocking found, score them with the
// model, and union the pairs it accepts (a union-find over record indexes).

package dedup

import (
	"math"
	"slices"
)

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
		switch linked, review := x.decide(key, pats[k]); {
		case linked:
			x.union(a, b)
			x.stats.Links++
		case review != nil:
			x.review = append(x.review, *review)
		}
	}
	x.stats.Review = len(x.review)
}

// decide is what a scored pair becomes: a link (a reviewer's merge, or a pair
// the model accepts), a pair for review (in the review band, not decided), or
// nothing.
func (x *Index) decide(key uint64, p pattern) (bool, *Pair) {
	a, b := unpair(key)
	prob := x.probability(a, b, p)
	merge, decided := x.decided[key]
	switch {
	case decided && merge, !decided && x.accepts(p, prob):
		return true, nil
	case !decided && prob >= x.cfg.ReviewAbove:
		return false, &Pair{A: x.recs[a].ID, B: x.recs[b].ID, Probability: prob, Reason: x.heldBack(p, prob)}
	}
	return false, nil
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
	if p.level(fFirst) == 1 && x.norms[a].firstCanon == x.norms[b].firstCanon {
		if f, n := x.nameFreq(true, x.norms[a].firstCanon); f > 0 {
			adj += math.Log2(x.model.U[fFirst][1] / max(f/n, 1/n))
		}
	}
	if p.level(fLast) == 1 && x.norms[a].last == x.norms[b].last && !householdExplains(p) {
		if f, n := x.nameFreq(false, x.norms[a].last); f > 0 {
			adj += math.Log2(x.model.U[fLast][1] / max(f/n, 1/n))
		}
	}
	return 1 / (1 + math.Exp2(-(w + adj)))
}

// accepts decides an automatic merge: the probability is above the threshold and
// the records agree on something that identifies one person — email, phone,
// birth date, or (without birth dates) the same names at the same postal code.
// Names and a city alone, however likely, go to review. So do records that
// agree on who the person is (names, birth date) but disagree on every way to
// reach them (email, phone and address): that is what namesakes born the same
// day look like, and a person who changed all of those at once is rare.
func (x *Index) accepts(p pattern, prob float64) bool {
	if prob < x.cfg.AcceptAbove || elsewhere(p) {
		return false
	}
	return p.level(fEmail) == 1 || p.level(fEmail) == 2 || p.level(fPhone) == 1 || p.level(fPhone) == 2 ||
		p.level(fBirth) == 1 || p.level(fBirth) == 2 ||
		sameHome(p) && p.level(fBirth) == 0
}

// sameHome reports whether a pair has (nearly) the same names at the same street
// address or postal code: with no birth date to tell a junior from a senior, that
// identifies a person as well as an email does (a cluster still never holds two
// records whose birth dates differ: cannotLink).
func sameHome(p pattern) bool {
	home := p.level(fAddress) == 1 || p.level(fPostal) == 1 && p.level(fAddress) != 3
	return home && p.level(fFirst) >= 1 && p.level(fFirst) <= 2 && p.level(fLast) >= 1 && p.level(fLast) <= 2
}

// heldBack says why a pair above the accept threshold went to review ("" for a
// pair below it).
func (x *Index) heldBack(p pattern, prob float64) string {
	switch {
	case prob < x.cfg.AcceptAbove:
		return ""
	case elsewhere(p):
		return "names agree but email, phone and address all differ: namesakes look like this"
	default:
		return "nothing that identifies one person agrees (email, phone, birth date, or the same names at the same postal code)"
	}
}

// elsewhere reports whether a pair disagrees on every way to reach the person:
// email, phone and address (street, postal code or city) are all present on
// both sides and none agrees.
func elsewhere(p pattern) bool {
	differ := 0
	for _, group := range [...][]int{{fEmail}, {fPhone}, {fPostal, fCity, fAddress}} {
		compared := false
		for _, f := range group {
			switch l := p.level(f); {
			case l == 0:
			case l < len(levelNames[f])-1:
				return false
			default:
				compared = true
			}
		}
		if compared {
			differ++
		}
	}
	return differ == 3
}
