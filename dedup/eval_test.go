package dedup_test

import (
	"testing"

	"github.com/kithhq/kith/dedup"
)

func TestHardGeneratorF1(t *testing.T) {
	labeled := dedup.Generate(20000, dedup.Difficulties["hard"], 42)
	res := dedup.Resolve(dedup.Records(labeled), dedup.Config{})
	ev := dedup.Evaluate(labeled, res)
	t.Logf("precision %.4f recall %.4f F1 %.4f; %d/%d people exactly clustered; %.1f comparisons/record; %d review",
		ev.Precision, ev.Recall, ev.F1, ev.ExactClusters, ev.MultiRecordPeople, res.Stats.PerRecord, res.Stats.Review)
	t.Logf("model:\n%s", res.Model.String())
	if ev.F1 < 0.97 {
		t.Errorf("F1 %.4f < 0.97", ev.F1)
	}
}
