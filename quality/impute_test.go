package quality_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// shoppers generates people whose age shapes what they buy: spend share on
// electronics, toys, health and garden. Age is what imputation must recover.
func shoppers(n int, seed uint64) []quality.Sample {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]quality.Sample, n)
	for i := range out {
		age := 18 + r.IntN(62)
		a := float64(age-18) / 62 // 0 young .. 1 old
		f := []float64{
			math.Max(0, 0.8-a+r.NormFloat64()*0.1),                   // electronics: the young
			math.Max(0, 0.5-math.Abs(a-0.3)*1.5+r.NormFloat64()*0.1), // toys: parents in their 30s
			math.Max(0, a-0.2+r.NormFloat64()*0.1),                   // health: the old
			math.Max(0, a*0.6+r.NormFloat64()*0.1),                   // garden
		}
		seg := []string{"NO", "GB", "US"}[r.IntN(3)]
		out[i] = quality.Sample{Values: map[kith.Field]string{kith.FieldAge: strconv.Itoa(age), kith.FieldCountry: seg}, Segment: seg, Features: f}
	}
	return out
}

func mae(t *testing.T, m *quality.Imputer, test []quality.Sample) float64 {
	t.Helper()
	sum := 0.0
	for _, s := range test {
		truth, _ := strconv.Atoi(s.Values[kith.FieldAge])
		hidden := quality.Sample{Values: map[kith.Field]string{}, Segment: s.Segment, Features: s.Features}
		im, ok := m.Impute(hidden)
		if !ok {
			t.Fatal("no imputation for a missing age")
		}
		got, _ := strconv.Atoi(im.Value)
		sum += math.Abs(float64(got - truth))
	}
	return sum / float64(len(test))
}

func TestKNNBeatsGlobalMedian(t *testing.T) {
	train, test := shoppers(4000, 1), shoppers(1000, 2)
	median, err := quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyMedian, Field: kith.FieldAge}, train)
	if err != nil {
		t.Fatal(err)
	}
	knn, err := quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyKNN, Field: kith.FieldAge, K: 15}, train)
	if err != nil {
		t.Fatal(err)
	}
	mean, _ := quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyMean, Field: kith.FieldAge}, train)
	bySeg, _ := quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyMedian, Field: kith.FieldAge, BySegment: true}, train)
	mMedian, mKNN, mMean, mSeg := mae(t, median, test), mae(t, knn, test), mae(t, mean, test), mae(t, bySeg, test)
	t.Logf("age imputation, mean absolute error in years over %d held-out people: global median %.2f, global mean %.2f, median per country %.2f, kNN over purchases %.2f",
		len(test), mMedian, mMean, mSeg, mKNN)
	if mKNN >= mMedian*0.6 {
		t.Errorf("kNN MAE %.2f does not clearly beat the global median's %.2f", mKNN, mMedian)
	}
}

func TestImputeFlagsAndNeverOverwrites(t *testing.T) {
	train := shoppers(200, 3)
	m, err := quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyMode, Field: kith.FieldCountry}, train)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Impute(quality.Sample{Values: map[kith.Field]string{kith.FieldCountry: "SE"}}); ok {
		t.Error("imputed a field the record has")
	}
	im, ok := m.Impute(quality.Sample{Values: map[kith.Field]string{}})
	if !ok || im.Value == "" || im.Method != "mode" || im.Confidence <= 0 || im.Confidence > 1 {
		t.Fatalf("imputation = %+v", im)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := im.AsValue(at)
	if !v.Imputed || v.Source != kith.SourceImputed || v.Method != "mode" || v.Confidence != im.Confidence {
		t.Errorf("value = %+v, want flagged imputed", v)
	}
	// The store's merge rule keeps a provided value over it.
	c := kith.Contact{Fields: map[kith.Field]kith.Value{kith.FieldCountry: {Value: "SE", Provenance: kith.Provenance{Source: kith.SourceForm, At: at.Add(-time.Hour)}}}}
	if changed := c.Merge(map[kith.Field]kith.Value{kith.FieldCountry: v}); len(changed) != 0 || c.Get(kith.FieldCountry) != "SE" {
		t.Errorf("imputed value overwrote a provided one")
	}
	if _, err := quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyMean, Field: kith.FieldCountry}, train); err == nil {
		t.Error("mean of a non-numeric field accepted")
	}
	if _, err := quality.Fit(quality.ImputeConfig{Strategy: "magic", Field: kith.FieldAge}, train); err == nil {
		t.Error("unknown strategy accepted")
	}
}
