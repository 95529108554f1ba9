package personalize_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kithhq/kith/personalize"
)

func TestSegments(t *testing.T) {
	for _, tc := range []struct {
		r, f, m int
		want    string
	}{
		{5, 5, 5, "champions"}, {4, 5, 2, "loyal"}, {5, 1, 1, "new"}, {3, 2, 3, "potential"},
		{1, 5, 5, "cant_lose"}, {2, 3, 2, "at_risk"}, {1, 1, 1, "hibernating"},
	} {
		if got := personalize.Segment(tc.r, tc.f, tc.m); got != tc.want {
			t.Errorf("R%d F%d M%d: %s, want %s", tc.r, tc.f, tc.m, got, tc.want)
		}
	}
}

func TestRecommendRelatedThenPopularNeverSeen(t *testing.T) {
	r := personalize.Train([]personalize.Basket{
		{Country: "NO", Items: []string{"mug", "saucer"}},
		{Country: "NO", Items: []string{"mug", "saucer", "spoon"}},
		{Country: "DE", Items: []string{"mug", "tea"}},
		{Country: "DE", Items: []string{"tea", "kettle"}},
		{Country: "DE", Items: []string{"tea", "kettle"}},
	}, 10)
	got := r.Recommend([]string{"mug"}, "DE", 4)
	if len(got) != 4 || got[0] != "saucer" || slices.Contains(got, "mug") {
		t.Errorf("for a mug buyer: %v, want the saucer first, then others, never the mug", got)
	}
	if got := r.Recommend([]string{"unknown"}, "DE", 2); !slices.Equal(got, []string{"tea", "kettle"}) {
		t.Errorf("for an unknown product in DE: %v, want DE's most popular", got)
	}
}

// TestRecommenderBeatsPopularity: on generated purchase histories with a time
// split, item-to-item hits more next purchases in its top 10 than the most
// popular products do.
func TestRecommenderBeatsPopularity(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hs := personalize.Generate(7, 4000, 20, 40, start, 300*24*time.Hour)
	e := personalize.Evaluate(hs, start.Add(240*24*time.Hour), 10)
	t.Logf("hit rate@10 %.3f, popularity %.3f over %d customers", e.HitRate, e.Popularity, e.Customers)
	if e.Customers < 500 || e.HitRate <= e.Popularity {
		t.Errorf("item-to-item %.3f vs popularity %.3f over %d customers: want more hits", e.HitRate, e.Popularity, e.Customers)
	}
}
