package quality

import (
	"cmp"
	"reflect"
	"slices"
	"testing"

	"github.com/kithhq/kith"
)

func TestFillGainsOrdersFieldsByWhatFillingThemAdds(t *testing.T) {
	c := kith.CompletenessFigures{Unscored: 0, Now: [kith.CompletenessBands]int{10: 50, 5: 50},
		Gains: []kith.FieldGain{{Field: "city", Missing: 100}, {Field: "email", Missing: 10}, {Field: "birth_date", Missing: 20, Imputed: 40}}}
	FillGains(&c, DefaultWeights)
	// email weighs 25, birth_date 15 (imputed counts half), city 8, of 100.
	want := []kith.FieldGain{{Field: "birth_date", Missing: 20, Imputed: 40, Gain: 6}, {Field: "city", Missing: 100, Gain: 8}, {Field: "email", Missing: 10, Gain: 2.5}}
	slices.SortFunc(want, func(a, b kith.FieldGain) int { return cmp.Compare(b.Gain, a.Gain) })
	if !reflect.DeepEqual(c.Gains, want) {
		t.Errorf("gains %+v, want %+v", c.Gains, want)
	}
	empty := kith.CompletenessFigures{Gains: []kith.FieldGain{{Field: "email", Missing: 3}}}
	FillGains(&empty, DefaultWeights) // no active contacts: nothing to divide by
	if empty.Gains[0].Gain != 0 {
		t.Errorf("gain with no contacts: %v", empty.Gains[0].Gain)
	}
}
