package quality

import (
	"math"
	"math/rand/v2"
)

// ShopperCategories are the product categories of n product events of a
// synthetic shopper of the given age: what people of that age tend to look at
// (the young electronics, fashion and sports, parents in their thirties toys,
// the old health and garden; books for everyone). The demo and the tests of age
// imputation generate behaviour with it; nothing in the product uses it.
func ShopperCategories(age, n int, r *rand.Rand) []string {
	a := math.Min(1, math.Max(0, float64(age-18)/62)) // 0 young .. 1 old
	weights := []struct {
		category string
		w        float64
	}{
		{"electronics", math.Max(0.02, 0.9-a)},
		{"fashion", math.Max(0.02, 0.6-a*0.8)},
		{"sports", math.Max(0.02, 0.5-a*0.6)},
		{"toys", math.Max(0.02, 0.6-math.Abs(a-0.3)*2)},
		{"health", math.Max(0.02, a-0.2)},
		{"garden", math.Max(0.02, a*0.7)},
		{"books", 0.2},
	}
	total := 0.0
	for _, c := range weights {
		total += c.w
	}
	out := make([]string, n)
	for i := range out {
		x := r.Float64() * total
		for _, c := range weights {
			if x -= c.w; x <= 0 {
				out[i] = c.category
				break
			}
		}
		if out[i] == "" {
			out[i] = weights[len(weights)-1].category
		}
	}
	return out
}
