package quality

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/schemas"
)

// Weights give each profile field its share of the completeness score, in the
// order of kith.ProfileFields.
type Weights []float64

// Of returns the weight of f.
func (w Weights) Of(f kith.Field) float64 {
	if i := slices.Index(kith.ProfileFields, f); i >= 0 && i < len(w) {
		return w[i]
	}
	return 0
}

// DefaultWeights are the weights in schemas/quality/weights.json.
var DefaultWeights = func() Weights {
	w, err := ParseWeights(schemas.QualityWeights)
	if err != nil {
		panic("schemas/quality/weights.json: " + err.Error()) // embedded at build time
	}
	return w
}()

// ParseWeights reads weights from JSON ({"email": 25, …}); keys starting with _
// are comments. Unknown fields and negative weights are errors.
func ParseWeights(b []byte) (Weights, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	w := make(Weights, len(kith.ProfileFields))
	for k, v := range raw {
		if len(k) > 0 && k[0] == '_' {
			continue
		}
		f, ok := kith.ParseField(k)
		if !ok {
			return nil, fmt.Errorf("unknown field %q", k)
		}
		var x float64
		if err := json.Unmarshal(v, &x); err != nil || x < 0 {
			return nil, fmt.Errorf("weight of %s must be a non-negative number", k)
		}
		w[slices.Index(kith.ProfileFields, f)] = x
	}
	return w, nil
}

// Gain is how many points filling a missing field would add.
type Gain struct {
	Field  kith.Field `json:"field"`
	Points int        `json:"points"`
}

// Completeness is a profile's score and what would raise it.
type Completeness struct {
	Score int `json:"score"` // 0..100
	// Missing lists the fields that would raise the score, most valuable first
	// (an imputed field gains the half a provided value would add).
	Missing []Gain `json:"missing"`
}

// Score computes the completeness of fields under w: the weighted share of fields
// present, an imputed value counting half.
func Score(fields map[kith.Field]kith.Value, w Weights) Completeness {
	var present, imputed uint64
	for i, f := range kith.ProfileFields {
		if v, ok := fields[f]; ok && v.Value != "" {
			present |= 1 << i
			if v.Imputed {
				imputed |= 1 << i
			}
		}
	}
	return score(w, present, imputed)
}

// score is Score over any field store: has reports whether a field has a value and
// whether that value is imputed.
// score computes the completeness from bit sets over kith.ProfileFields (bit i is
// field i): which fields have a value, and which of those are imputed.
func score(w Weights, present, imputed uint64) Completeness {
	var total, have float64
	type gain struct {
		f      kith.Field
		points float64
	}
	var buf [16]gain // more than there are profile fields: no allocation
	missing := buf[:0]
	for i, f := range kith.ProfileFields {
		if i >= len(w) {
			break
		}
		wt := w[i]
		if wt == 0 {
			continue
		}
		total += wt
		switch {
		case present&(1<<i) == 0:
			missing = append(missing, gain{f, wt})
		case imputed&(1<<i) != 0:
			have += wt / 2
			missing = append(missing, gain{f, wt / 2})
		default:
			have += wt
		}
	}
	var c Completeness
	if total == 0 {
		return c
	}
	c.Score = int(math.Round(100 * have / total))
	// Insertion sort: stable, and the list is a handful of fields.
	for i := 1; i < len(missing); i++ {
		for j := i; j > 0 && missing[j].points > missing[j-1].points; j-- {
			missing[j], missing[j-1] = missing[j-1], missing[j]
		}
	}
	c.Missing = make([]Gain, 0, len(missing))
	for _, g := range missing {
		c.Missing = append(c.Missing, Gain{Field: g.f, Points: int(math.Round(100 * g.points / total))})
	}
	return c
}

// FillGains sets, for each field of c.Gains, the points filling it on every
// active contact missing it (or holding only an imputed value, worth half)
// would add to the mean completeness, and orders the fields by that gain.
func FillGains(c *kith.CompletenessFigures, w Weights) {
	active := c.Unscored
	for _, n := range c.Now {
		active += n
	}
	var total float64
	for _, wt := range w {
		total += wt
	}
	if active == 0 || total == 0 {
		return
	}
	for i := range c.Gains {
		g := &c.Gains[i]
		wt := w.Of(kith.Field(g.Field))
		g.Gain = 100 * (float64(g.Missing)*wt + float64(g.Imputed)*wt/2) / total / float64(active)
	}
	sort.SliceStable(c.Gains, func(i, j int) bool { return c.Gains[i].Gain > c.Gains[j].Gain })
}
