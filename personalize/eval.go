package personalize

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Purchase is one order: when, the products in it, and those viewed in the
// session that led to it.
type Purchase struct {
	At    time.Time
	Items []string
	Views []string
}

// History is a customer's purchases, oldest first.
type History struct {
	Contact   string
	Country   string
	Purchases []Purchase
}

// Generate makes purchase histories with the structure real shops have:
// products in categories with a long tail of popularity, customers who keep
// to a few categories, and complements bought together (a mug and its
// saucer) — but never the recommender's own scoring.
func Generate(seed uint64, customers, categories, perCategory int, start time.Time, span time.Duration) []History {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	product := func(c, i int) string { return fmt.Sprintf("c%02d-p%03d", c, i) }
	// Zipf-like popularity within a category.
	pick := func(c int) string {
		return product(c, int(math.Floor(math.Pow(rng.Float64(), 2.2)*float64(perCategory))))
	}
	complements := map[string][]string{}
	for c := range categories {
		for i := range perCategory {
			other := (c + 1 + rng.IntN(2)) % categories
			complements[product(c, i)] = []string{product(c, rng.IntN(perCategory)), pick(other)}
		}
	}
	countries := []string{"DE", "FR", "NO", "US", "GB"}
	out := make([]History, customers)
	for k := range out {
		h := History{Contact: fmt.Sprintf("cust-%06d", k), Country: countries[rng.IntN(len(countries))]}
		prefs := []int{rng.IntN(categories), rng.IntN(categories)}
		orders := 1 + int(rng.ExpFloat64()*3)
		for range orders {
			c := prefs[rng.IntN(len(prefs))]
			if rng.Float64() < 0.15 {
				c = rng.IntN(categories) // an outside purchase
			}
			items := []string{pick(c)}
			if rng.Float64() < 0.5 {
				items = append(items, complements[items[0]][rng.IntN(2)])
			}
			var views []string
			for _, p := range items {
				if rng.Float64() < 0.6 {
					views = append(views, p, pick(c))
				}
			}
			h.Purchases = append(h.Purchases, Purchase{At: start.Add(time.Duration(rng.Float64() * float64(span))), Items: items, Views: views})
		}
		slices.SortFunc(h.Purchases, func(a, b Purchase) int { return a.At.Compare(b.At) })
		out[k] = h
	}
	return out
}

// Evaluation is the hit rate at k of the recommender and of the popularity
// baseline on a time split.
type Evaluation struct {
	Customers            int     // with a purchase before and after the cutoff
	HitRate, Popularity  float64 // share of them whose next purchase is in the top k
	K                    int
	TrainBaskets, Tested int
}

// Evaluate trains on everything before cutoff (purchases and the views of
// their sessions; nothing after the cutoff leaks in) and asks, for every customer with purchases
// on both sides, whether a product of their first purchase after the cutoff
// is among the k recommended from what they had bought before.
func Evaluate(hs []History, cutoff time.Time, k int) Evaluation {
	var train []Basket
	type test struct {
		seen    []string
		next    []string
		country string
	}
	var tests []test
	for _, h := range hs {
		var seen, viewed, next []string
		for _, p := range h.Purchases {
			if p.At.Before(cutoff) {
				seen, viewed = append(seen, p.Items...), append(viewed, p.Views...)
			} else if next == nil {
				next = p.Items
			}
		}
		if len(seen) > 0 {
			train = append(train, Basket{Contact: h.Contact, Country: h.Country, Items: append(slices.Clone(seen), viewed...)})
		}
		if len(seen) > 0 && next != nil {
			tests = append(tests, test{seen, next, h.Country})
		}
	}
	r := Train(train, 50)
	e := Evaluation{Customers: len(tests), K: k, TrainBaskets: len(train), Tested: len(tests)}
	var hit, pop int
	for _, t := range tests {
		if overlaps(r.Recommend(t.seen, t.country, k), t.next) {
			hit++
		}
		if overlaps(r.Popularity(t.seen, k), t.next) {
			pop++
		}
	}
	if len(tests) > 0 {
		e.HitRate, e.Popularity = float64(hit)/float64(len(tests)), float64(pop)/float64(len(tests))
	}
	return e
}

func overlaps(recs, items []string) bool {
	return slices.ContainsFunc(recs, func(p string) bool { return slices.Contains(items, p) })
}
