package quality

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/schemas"
)

// Weights give each profile field its share of the completeness score.
type Weights map[kith.Field]float64

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
	w := Weights{}
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
		w[f] = x
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
	var total, have float64
	type gain struct {
		f      kith.Field
		points float64
	}
	var missing []gain
	for _, f := range kith.ProfileFields {
		wt := w[f]
		if wt == 0 {
			continue
		}
		total += wt
		v, ok := fields[f]
		switch {
		case !ok || v.Value == "":
			missing = append(missing, gain{f, wt})
		case v.Imputed:
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
	sort.SliceStable(missing, func(i, j int) bool { return missing[i].points > missing[j].points })
	for _, g := range missing {
		c.Missing = append(c.Missing, Gain{Field: g.f, Points: int(math.Round(100 * g.points / total))})
	}
	return c
}
