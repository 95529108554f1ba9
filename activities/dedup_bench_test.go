package activities

import (
	"fmt"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// BenchmarkMatchSetOf builds a part's matching set from the rows a part read
// sends: 200,000 generated contacts, every third with a source record that
// says something else.
func BenchmarkMatchSetOf(b *testing.B) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []kith.MatchRow
	for i, l := range dedup.Generate(200000, dedup.Difficulties["hard"], 5) {
		r := l.Record
		vals := []string{r.Email, r.Phone, r.FirstName, r.LastName, r.BirthDate, r.PostalCode, r.City, r.Address} // dedup.MatchFields' order
		holder := fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
		rows = append(rows, kith.MatchRow{Holder: holder, CreatedAt: at, At: at, EmailSource: kith.SourceImport, Values: vals})
		if i%3 == 0 {
			other := append([]string(nil), vals...)
			other[0] = "other." + other[0]
			rows = append(rows, kith.MatchRow{Holder: holder, Source: kith.SourceImport, Ref: fmt.Sprint("row-", i), At: at, Values: other})
		}
	}
	for b.Loop() {
		matchSetOf(rows)
	}
}
