package quality

import (
	"testing"

	"github.com/kithhq/kith"
)

// Record's field indexes are the positions in kith.ProfileFields.
func TestFieldIndexIsProfileFieldsOrder(t *testing.T) {
	if len(kith.ProfileFields) != nProfileFields {
		t.Fatalf("%d profile fields, %d indexes", len(kith.ProfileFields), nProfileFields)
	}
	for i, f := range kith.ProfileFields {
		if got := fieldIndex(f); got != i {
			t.Errorf("fieldIndex(%s) = %d, want %d", f, got, i)
		}
	}
	if got := fieldIndex("shoe_size"); got != -1 {
		t.Errorf("fieldIndex(shoe_size) = %d, want -1", got)
	}
}
