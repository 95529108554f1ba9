package personalize_test

import (
	"testing"
	"time"

	"github.com/kithhq/kith/personalize"
)

// BenchmarkRecommenderHitRate is the offline evaluation tools/bench.sh
// recommend writes to docs/benchmarks.md: hit rate@10 of item-to-item
// recommendations on a time split of generated purchase histories (20,000
// customers, 1,000 products), beside the popularity baseline in the same run.
func BenchmarkRecommenderHitRate(b *testing.B) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var e personalize.Evaluation
	for b.Loop() {
		hs := personalize.Generate(42, 20000, 25, 40, start, 365*24*time.Hour)
		e = personalize.Evaluate(hs, start.Add(300*24*time.Hour), 10)
	}
	b.ReportMetric(e.HitRate, "hit_rate_at_10")
	b.ReportMetric(e.Popularity, "popularity_hit_rate_at_10")
	b.ReportMetric(float64(e.Customers), "customers_tested")
	b.ReportMetric(float64(e.TrainBaskets), "train_baskets")
}
