package activities

import "testing"

// TestLaterRoundsSplitByTheirKeys: a later round's parts hold about as many
// keys as a first round's part, are at least minRoundParts and at most the
// first round's.
func TestLaterRoundsSplitByTheirKeys(t *testing.T) {
	for _, tc := range []struct {
		round, list int64
		parts, want int
	}{
		{100000, 80000000, 80, minRoundParts}, // 10M contacts' second round
		{0, 80000000, 80, minRoundParts},
		{5000000, 80000000, 80, 5},   // five first-round parts' keys
		{5000001, 80000000, 80, 6},   // and one more
		{40000000, 80000000, 80, 40}, // half the list's
		{90000000, 80000000, 80, 80}, // more than the list had: no more parts than the first round's
		{100000, 80000000, 2, 2},     // a list split in fewer than minRoundParts
		{100000, 0, 80, 80},          // the list's keys not counted: the first round's parts
	} {
		if got := roundParts(tc.round, tc.list, tc.parts); got != tc.want {
			t.Errorf("%d keys of %d in %d parts: %d parts, want %d", tc.round, tc.list, tc.parts, got, tc.want)
		}
	}
}
