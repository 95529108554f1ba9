package quality_test

import (
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers/v2"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// The floor: the bare phonenumbers parse and E.164 format that Record contains.
func BenchmarkPhoneFloor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		n, err := phonenumbers.Parse("412 34 567", "NO")
		if err != nil {
			b.Fatal(err)
		}
		_ = phonenumbers.Format(n, phonenumbers.E164)
	}
}

var benchRecord = map[kith.Field]string{
	"email": " Ada.Lovelace@Example.com ", "phone": "412 34 567", "first_name": "ada",
	"last_name": "LOVELACE", "birth_date": "10.12.1990", "country": "Norway",
}

// BenchmarkRecord is the full record path: email, phone, birth date, country, names
// and the completeness score.
func BenchmarkRecord(b *testing.B) {
	opts := quality.Options{Now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		r := quality.Record(benchRecord, opts)
		if len(r.Violations) != 0 {
			b.Fatal(r.Violations)
		}
	}
}

func BenchmarkPhone(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		quality.Phone("412 34 567", "NO")
	}
}

func BenchmarkEmail(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		quality.Email(" Ada.Lovelace@Example.com ")
	}
}

func BenchmarkBirthDate(b *testing.B) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		quality.BirthDate("10.12.1990", "NO", now, 120)
	}
}

func BenchmarkCountry(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		quality.Country("Norway")
	}
}

func BenchmarkName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		quality.Name("ada lovelace", kith.FieldFirstName)
	}
}

func BenchmarkPostalCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		quality.PostalCode("sw1a1aa", "GB")
	}
}
