package quality_test

import (
	"testing"

	"github.com/kithhq/kith/quality"
)

func TestAddress(t *testing.T) {
	for _, c := range []struct{ in, want, code string }{
		{"12 High St", "12 High Street", ""},
		{"  12   HIGH   ST  ", "12 High Street", ""},
		{"350 fifth ave", "350 Fifth Avenue", ""},
		{"221b baker st", "221b Baker Street", ""},
		{"1600 Pennsylvania Ave NW", "1600 Pennsylvania Ave NW", ""}, // not last, not before a number
		{"St Johns Road 4", "St Johns Road 4", ""},                   // a saint, not a street
		{"Hauptstr. 5", "Hauptstraße 5", ""},
		{"HAUPTSTR 5", "Hauptstraße 5", ""},
		{"Berliner Str. 12", "Berliner Straße 12", ""},
		{"Flat 2\n10 Downing St", "Flat 2, 10 Downing Street", ""},
		{"Flat 2,, 10 downing st.", "Flat 2, 10 downing Street", ""}, // mixed case: as written
		{"21st street 5", "21st Street 5", ""},
		{"Karl Johans gate 1", "Karl Johans gate 1", ""}, // mixed case: as written
		{"rue de la paix 3", "Rue de la Paix 3", ""},
		{"UNTER DEN LINDEN 77", "Unter den Linden 77", ""},
		{"", "", ""},
		{"12345", "", "invalid_address"},
		{"<script>", "", "invalid_address"},
		{"12 High St\x00", "", "invalid_address"},
	} {
		got, vs := quality.Address(c.in)
		code := ""
		if len(vs) > 0 {
			code = vs[0].Code
		}
		if got != c.want || code != c.code {
			t.Errorf("Address(%q) = %q %v, want %q %s", c.in, got, vs, c.want, c.code)
		}
		// Standardizing twice is standardizing once.
		if again, _ := quality.Address(got); got != "" && again != got {
			t.Errorf("Address(Address(%q)) = %q, want %q", c.in, again, got)
		}
	}
}
