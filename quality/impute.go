package quality

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/kithhq/kith"
)

// Strategy is how a missing field is imputed.
type Strategy string

// Strategies. Mean and median are for numeric fields (age), mode for any field;
// KNN predicts from the k nearest records in feature space (e.g. purchase
// behaviour: spend per category), averaging numeric values or voting otherwise.
const (
	StrategyMean   Strategy = "mean"
	StrategyMedian Strategy = "median"
	StrategyMode   Strategy = "mode"
	StrategyKNN    Strategy = "knn"
)

// Sample is one record as imputation sees it.
type Sample struct {
	Values   map[kith.Field]string
	Segment  string    // e.g. country or acquisition source; "" for none
	Features []float64 // for KNN: same length for every sample
}

// ImputeConfig configures Fit.
type ImputeConfig struct {
	Strategy  Strategy
	Field     kith.Field
	BySegment bool    // fit one statistic per segment (falls back to overall)
	K         int     // neighbours for KNN (default 10)
	Tolerance float64 // numeric: a prediction within this is "right" for confidence (default 5)
}

// Imputer is a fitted imputation model.
type Imputer struct {
	cfg      ImputeConfig
	numeric  bool
	overall  estimate
	segments map[string]estimate
	points   []knnPoint
}

type estimate struct {
	value      string
	confidence float64
}

type knnPoint struct {
	features []float64
	value    string
	num      float64
}

// Imputation is one imputed value with its method and confidence (0..1: the share
// of fitted records the value would have been right for, within the tolerance).
type Imputation struct {
	Value      string
	Method     string
	Confidence float64
}

// AsValue returns the imputation as a field value flagged imputed, observed at.
func (im Imputation) AsValue(at time.Time) kith.Value {
	return kith.Value{Value: im.Value, Provenance: kith.Provenance{
		Source: kith.SourceImputed, At: at, Imputed: true, Method: im.Method, Confidence: im.Confidence,
	}}
}

// Fit fits an imputer for one field on the samples that have it.
func Fit(cfg ImputeConfig, samples []Sample) (*Imputer, error) {
	if cfg.K == 0 {
		cfg.K = 10
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = 5
	}
	m := &Imputer{cfg: cfg, numeric: true, segments: map[string]estimate{}}
	var known []Sample
	for _, s := range samples {
		v := s.Values[cfg.Field]
		if v == "" {
			continue
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			m.numeric = false
		}
		known = append(known, s)
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("impute %s: no record has it", cfg.Field)
	}
	switch cfg.Strategy {
	case StrategyMean, StrategyMedian:
		if !m.numeric {
			return nil, fmt.Errorf("impute %s by %s: the field is not numeric", cfg.Field, cfg.Strategy)
		}
	case StrategyMode:
	case StrategyKNN:
		for _, s := range known {
			if len(s.Features) == 0 || len(s.Features) != len(known[0].Features) {
				return nil, errors.New("knn: every sample needs features of the same length")
			}
			p := knnPoint{features: s.Features, value: s.Values[cfg.Field]}
			p.num, _ = strconv.ParseFloat(p.value, 64)
			m.points = append(m.points, p)
		}
	default:
		return nil, fmt.Errorf("unknown imputation strategy %q", cfg.Strategy)
	}
	m.overall = m.estimate(known)
	if cfg.BySegment {
		bySeg := map[string][]Sample{}
		for _, s := range known {
			bySeg[s.Segment] = append(bySeg[s.Segment], s)
		}
		for seg, ss := range bySeg {
			if len(ss) >= 5 { // too few to trust: fall back to overall
				m.segments[seg] = m.estimate(ss)
			}
		}
	}
	return m, nil
}

// Impute returns a value for s's missing field; ok is false when s has it already
// (an imputed value never overwrites a provided one).
func (m *Imputer) Impute(s Sample) (Imputation, bool) {
	if s.Values[m.cfg.Field] != "" {
		return Imputation{}, false
	}
	method := string(m.cfg.Strategy)
	if m.cfg.Strategy == StrategyKNN && len(s.Features) == len(m.points[0].features) {
		v, conf := m.knn(s.Features)
		return Imputation{Value: v, Method: method, Confidence: conf}, true
	}
	e := m.overall
	if seg, ok := m.segments[s.Segment]; ok && m.cfg.BySegment {
		e, method = seg, method+"/segment"
	}
	if m.cfg.Strategy == StrategyKNN { // no features: fall back to the mode/median
		method = "knn/fallback"
	}
	return Imputation{Value: e.value, Method: method, Confidence: e.confidence}, true
}

func (m *Imputer) estimate(ss []Sample) estimate {
	vals := make([]string, len(ss))
	for i, s := range ss {
		vals[i] = s.Values[m.cfg.Field]
	}
	var v string
	switch {
	case m.cfg.Strategy == StrategyMean:
		sum := 0.0
		for _, x := range nums(vals) {
			sum += x
		}
		v = formatNum(sum / float64(len(vals)))
	case m.cfg.Strategy == StrategyMedian || (m.cfg.Strategy == StrategyKNN && m.numeric):
		v = formatNum(median(nums(vals)))
	default:
		v = mode(vals)
	}
	return estimate{value: v, confidence: m.hitRate(v, vals)}
}

// hitRate is the share of vals that v is right for (numeric: within tolerance).
func (m *Imputer) hitRate(v string, vals []string) float64 {
	hits := 0
	x, _ := strconv.ParseFloat(v, 64)
	for _, o := range vals {
		if m.numeric {
			y, _ := strconv.ParseFloat(o, 64)
			if math.Abs(x-y) <= m.cfg.Tolerance {
				hits++
			}
		} else if o == v {
			hits++
		}
	}
	return math.Round(100*float64(hits)/float64(len(vals))) / 100
}

func (m *Imputer) knn(f []float64) (string, float64) {
	type nd struct {
		d float64
		i int
	}
	k := min(m.cfg.K, len(m.points))
	best := make([]nd, 0, k+1)
	for i, p := range m.points {
		d := 0.0
		for j, x := range p.features {
			d += (x - f[j]) * (x - f[j])
		}
		if len(best) < k || d < best[len(best)-1].d {
			pos := sort.Search(len(best), func(n int) bool { return best[n].d > d })
			best = append(best, nd{})
			copy(best[pos+1:], best[pos:])
			best[pos] = nd{d, i}
			if len(best) > k {
				best = best[:k]
			}
		}
	}
	vals := make([]string, len(best))
	for i, b := range best {
		vals[i] = m.points[b.i].value
	}
	var v string
	if m.numeric {
		v = formatNum(median(nums(vals)))
	} else {
		v = mode(vals)
	}
	return v, m.hitRate(v, vals)
}

func nums(vals []string) []float64 {
	out := make([]float64, len(vals))
	for i, v := range vals {
		out[i], _ = strconv.ParseFloat(v, 64)
	}
	return out
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// mode returns the most frequent value, the smallest on a tie (deterministic).
func mode(vals []string) string {
	counts := map[string]int{}
	for _, v := range vals {
		counts[v]++
	}
	best, n := "", 0
	for v, c := range counts {
		if c > n || (c == n && v < best) {
			best, n = v, c
		}
	}
	return best
}

// formatNum rounds to a whole number: imputed ages are whole years.
func formatNum(x float64) string { return strconv.Itoa(int(math.Round(x))) }
