package quality_test

import (
	"testing"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

func TestTimeZone(t *testing.T) {
	v := func(s string) kith.Value { return kith.Value{Value: s} }
	for _, tc := range []struct {
		fields   map[kith.Field]kith.Value
		reported string
		want     string
	}{
		{map[kith.Field]kith.Value{kith.FieldCountry: v("FR")}, "America/Chicago", "America/Chicago"},
		{map[kith.Field]kith.Value{kith.FieldCountry: v("FR")}, "Mars/Olympus", "Europe/Paris"},
		{map[kith.Field]kith.Value{kith.FieldPhone: v("+81312345678"), kith.FieldCountry: v("FR")}, "", "Asia/Tokyo"},
		{map[kith.Field]kith.Value{kith.FieldCountry: v("DE")}, "", "Europe/Berlin"},
		{map[kith.Field]kith.Value{}, "", "UTC"},
	} {
		if got := quality.TimeZone(tc.fields, tc.reported); got != tc.want {
			t.Errorf("%v %q: %s, want %s", tc.fields, tc.reported, got, tc.want)
		}
	}
}
