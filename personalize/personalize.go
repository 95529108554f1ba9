// Package personalize computes what triggered messages are personalized with:
// RFM segments from orders, and item-to-item recommendations from products
// bought and viewed together, with a popular-in-country fallback. It is pure
// computation; the Personalization workflow feeds it from PostgreSQL nightly.
package personalize

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"

	"github.com/kithhq/kith"
)

// RFM are a contact's recency, frequency and monetary quintiles (1 lowest,
// 5 best) and the segment they name.
type RFM struct {
	R, F, M int
	Segment string
}

// Segments names RFM scores the way marketing teams read them.
func Segment(r, f, m int) string {
	switch {
	case r >= 4 && f >= 4 && m >= 4:
		return "champions"
	case r >= 3 && f >= 4:
		return "loyal"
	case r >= 4 && f <= 1:
		return "new"
	case r >= 3 && f >= 2:
		return "potential"
	case r <= 2 && f >= 4:
		return "cant_lose"
	case r <= 2 && f >= 2:
		return "at_risk"
	default:
		return "hibernating"
	}
}

// Basket is what one contact bought and viewed, oldest first.
type Basket struct {
	Contact string
	Country string
	Items   []string
}

// Recommender is item-to-item co-occurrence: two products are related when the
// same people buy or view both, scored by cosine similarity (co-occurrence
// over the square root of each product's popularity, so best-sellers do not
// top every list), with the most popular products of the contact's country
// (then everywhere) as the fallback.
type Recommender struct {
	Related map[string][]Scored // per product, best first
	Popular map[string][]string // per country ("" for everywhere), best first
}

// Scored is a recommended product and its score.
type Scored struct {
	Product string
	Score   float64
}

// Train builds the recommender from baskets, keeping the top n per product.
func Train(baskets []Basket, n int) *Recommender {
	count := map[string]int{}
	co := map[string]map[string]int{}
	byCountry := map[string]map[string]int{}
	for _, b := range baskets {
		items := slices.Compact(slices.Sorted(slices.Values(b.Items)))
		for _, p := range items {
			count[p]++
			for _, c := range []string{b.Country, ""} {
				if byCountry[c] == nil {
					byCountry[c] = map[string]int{}
				}
				byCountry[c][p]++
			}
		}
		for i, p := range items {
			for _, q := range items[i+1:] {
				if co[p] == nil {
					co[p] = map[string]int{}
				}
				if co[q] == nil {
					co[q] = map[string]int{}
				}
				co[p][q]++
				co[q][p]++
			}
		}
	}
	r := &Recommender{Related: map[string][]Scored{}, Popular: map[string][]string{}}
	for _, p := range kith.SortedKeys(co) {
		var list []Scored
		for _, q := range kith.SortedKeys(co[p]) {
			list = append(list, Scored{q, float64(co[p][q]) / math.Sqrt(float64(count[p])*float64(count[q]))})
		}
		slices.SortStableFunc(list, func(a, b Scored) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Product, b.Product))
		})
		r.Related[p] = list[:min(len(list), n)]
	}
	for _, c := range kith.SortedKeys(byCountry) {
		r.Popular[c] = topByCount(byCountry[c], n)
	}
	return r
}

// Recommend returns up to n products for someone who bought or viewed seen,
// in country: related products summed over seen, best first, then popular
// ones; never one already seen.
func (r *Recommender) Recommend(seen []string, country string, n int) []string {
	have := map[string]bool{}
	for _, p := range seen {
		have[p] = true
	}
	score := map[string]float64{}
	for _, p := range seen {
		for _, s := range r.Related[p] {
			if !have[s.Product] {
				score[s.Product] += s.Score
			}
		}
	}
	out := kith.SortedKeys(score)
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(score[b], score[a]) })
	out = out[:min(len(out), n)]
	for _, c := range []string{country, ""} {
		for _, p := range r.Popular[c] {
			if len(out) >= n {
				return out
			}
			if !have[p] && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Popularity recommends the n most popular products not seen (the baseline
// a recommender must beat).
func (r *Recommender) Popularity(seen []string, n int) []string {
	var out []string
	for _, p := range r.Popular[""] {
		if len(out) >= n {
			break
		}
		if !slices.Contains(seen, p) {
			out = append(out, p)
		}
	}
	return out
}

func topByCount(m map[string]int, n int) []string {
	keys := kith.SortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	return keys[:min(len(keys), n)]
}

// Products are the products an event names: an Order Completed's products
// (Segment's ecommerce spec), or a Product Viewed's or Product Added's
// product, each by product_id or else sku.
func Products(eventType string, properties []byte) []string {
	var p struct {
		ProductID string `json:"product_id"`
		SKU       string `json:"sku"`
		Products  []struct {
			ProductID string `json:"product_id"`
			SKU       string `json:"sku"`
		} `json:"products"`
	}
	if len(properties) == 0 || json.Unmarshal(properties, &p) != nil {
		return nil
	}
	var out []string
	switch eventType {
	case "Order Completed":
		for _, x := range p.Products {
			if id := cmp.Or(x.ProductID, x.SKU); id != "" {
				out = append(out, id)
			}
		}
	case "Product Viewed", "Product Added":
		if id := cmp.Or(p.ProductID, p.SKU); id != "" {
			out = append(out, id)
		}
	}
	return out
}
