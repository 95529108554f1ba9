package dedup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Model holds the Fellegi–Sunter parameters: for each field and level, m (the
// share of true matches at that level) and u (the share of non-matches), and
// the prior share of matches among candidate pairs.
type Model struct {
	M, U  [numFields][maxLevels]float64
	Prior float64
}

// Weight is the match weight of a comparison vector: Σ log2(m/u) over the fields
// that are not missing, less the household's agreement when the two are clearly
// two people (householdExplains).
func (m *Model) Weight(p pattern) float64 {
	w := 0.0
	household := householdExplains(p)
	for f := range numFields {
		l := p.level(f)
		if l == 0 || household && isHouseholdField[f] && l < len(levelNames[f])-1 {
			continue
		}
		w += math.Log2(m.M[f][l] / m.U[f][l])
	}
	return w
}

// isHouseholdField marks what people who live together share: a last name, a
// home phone, a street address, a postal code and a city.
var isHouseholdField = [numFields]bool{fLast: true, fPhone: true, fPostal: true, fCity: true, fAddress: true}

// householdExplains reports whether two records disagree on what tells the
// people of one household apart — the first name (twins) or the birth date (a
// junior and a senior) — so that agreeing on the household's fields is no
// evidence that they are one person: the independence Fellegi–Sunter assumes
// fails there, and adding those weights merged twins and parents with children.
// Their agreement then counts as missing; their disagreement still counts.
// The same email is the exception: an address is one person's, not the home's.
func householdExplains(p pattern) bool {
	return p.level(fEmail) != 1 && (p.level(fFirst) == 4 || p.level(fBirth) == 3)
}

// Probability is the posterior match probability of a comparison vector.
func (m *Model) Probability(p pattern) float64 {
	w, ok := m.logOdds(p)
	if !ok {
		return 0
	}
	return 1 / (1 + math.Exp2(-w))
}

// logOdds is the log2 odds of a match: the weight plus the prior's. Two records
// whose first names and birth dates both clearly differ are different people,
// whatever else they share (false): relatives share an address, a phone and a
// last name, and these two are what tell them apart.
func (m *Model) logOdds(p pattern) (float64, bool) {
	if p.level(fFirst) == 4 && p.level(fBirth) == 3 {
		return 0, false
	}
	return m.Weight(p) + math.Log2(m.Prior/(1-m.Prior)), true
}

// String shows the weights, for people tuning thresholds.
func (m *Model) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "prior %.4f\n", m.Prior)
	for f := range numFields {
		for l := 1; l < len(levelNames[f]); l++ {
			fmt.Fprintf(&b, "  %-11s %-40s m=%.4f u=%.6f weight %+.2f\n", fieldNames[f], levelNames[f][l], m.M[f][l], m.U[f][l], math.Log2(m.M[f][l]/m.U[f][l]))
		}
	}
	return b.String()
}

const floorProb = 1e-6

// minRecordsForU is how many records random pairs need to estimate u: in a small
// list the duplicates themselves are a large share of the random pairs.
const minRecordsForU = 1000

// defaultU is u for lists too small to estimate it from: how often unrelated
// people agree, by field and level, in a typical contact list.
var defaultU = [numFields][maxLevels]float64{
	{0, 1e-6, 1e-4, 1},
	{0, 1e-6, 1e-5, 1},
	{0, 0.01, 0.005, 0.03, 0.955},
	{0, 0.005, 0.005, 0.03, 0.96},
	{0, 5e-5, 1e-3, 1},
	{0, 1e-3, 1},
	{0, 0.1, 0.01, 0.89},
	{0, 1e-5, 1e-4, 1},
}

// estimateU estimates u from random pairs, which are almost all non-matches.
// The records are drawn in the order of their ids, so the estimate does not
// depend on the order they came in (a partitioned run reads them in another).
func estimateU(records []Record, recs []normalized, samples int, seed uint64) [numFields][maxLevels]float64 {
	if len(recs) < minRecordsForU {
		return defaultU
	}
	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(records[a].ID, records[b].ID) })
	var counts [numFields][maxLevels]float64
	r := rand.New(rand.NewPCG(seed, seed+1))
	for range samples {
		i, j := order[r.IntN(len(recs))], order[r.IntN(len(recs))]
		if i == j {
			continue
		}
		p := compare(&recs[i], &recs[j])
		for f := range numFields {
			counts[f][p.level(f)]++
		}
	}
	return shares(counts)
}

// shares turns level counts into shares of the non-missing levels, never zero.
func shares(counts [numFields][maxLevels]float64) [numFields][maxLevels]float64 {
	var out [numFields][maxLevels]float64
	for f := range numFields {
		total := 0.0
		for l := 1; l < maxLevels; l++ {
			total += counts[f][l]
		}
		for l := 1; l < maxLevels; l++ {
			if total > 0 {
				out[f][l] = max(counts[f][l]/total, floorProb)
			} else {
				out[f][l] = floorProb
			}
		}
	}
	return out
}

// trainModel estimates the Fellegi–Sunter parameters from the candidate pairs'
// comparison vectors (hist), with u from random pairs. Plain EM over all fields
// collapses here: relatives agree on last name, phone, address and city together,
// which breaks the independence it assumes, and it ends up calling every
// candidate a match. So m is estimated field by field, Splink-style, from pairs
// that an independent anchor marks as near-certain matches (the same email for
// every other field; the same phone and birth date for the email), and only the
// prior is then fitted by EM.
//
// The prior is the probability that two records picked at random are the same
// person (Splink's "probability two random records match"): the matches EM finds
// among the candidates, over all n(n-1)/2 pairs. A prior over candidate pairs
// only would be far too generous to pairs that share one rare value by chance.
func trainModel(hist map[pattern]float64, u [numFields][maxLevels]float64, iterations int, records int) Model {
	m := Model{U: u, Prior: 0.1}
	var mc [numFields][maxLevels]float64
	for p, c := range hist {
		sameEmail := p.level(fEmail) == 1
		samePhoneBirth := p.level(fPhone) == 1 && p.level(fBirth) == 1
		for f := range numFields {
			if (f != fEmail && sameEmail) || (f == fEmail && samePhoneBirth) {
				mc[f][p.level(f)] += c
			}
		}
	}
	m.M = shares(mc)
	for f := range numFields { // too few anchored pairs to learn from: a cautious default
		n := 0.0
		for l := 1; l < maxLevels; l++ {
			n += mc[f][l]
		}
		if n < minAnchored {
			m.M[f] = defaultM(f)
		}
	}
	for range iterations {
		matched, total := 0.0, 0.0
		for p, c := range hist {
			matched += c * m.Probability(p)
			total += c
		}
		if total == 0 {
			break
		}
		m.Prior = min(max(matched/total, 1e-4), 1-1e-4)
	}
	matches := m.Prior * histTotal(hist)
	if all := float64(records) * float64(records-1) / 2; all > 0 {
		m.Prior = min(max(matches/all, 1e-12), 0.5)
	}
	return m
}

// minAnchored is how many anchored pairs a field needs before its m is learned.
const minAnchored = 30

// defaultM is the m of a field when the data cannot tell: most matches agree
// exactly, a few nearly, very few not at all.
func defaultM(f int) [maxLevels]float64 {
	var m [maxLevels]float64
	levels := len(levelNames[f]) - 1
	m[1] = 0.85
	m[levels] = 0.02
	for l := 2; l < levels; l++ {
		m[l] = 0.13 / float64(levels-2)
	}
	if levels == 2 {
		m[2] = 0.15
	}
	return m
}

func histTotal(hist map[pattern]float64) float64 {
	t := 0.0
	for _, c := range hist {
		t += c
	}
	return t
}
