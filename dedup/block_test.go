package dedup

import (
	"slices"
	"testing"
)

// Blocking keys are stored (PostgreSQL's contact_keys, the rounds' keys), so
// a key's value is part of the stored format: a change to how one is
// computed needs a migration that backfills every contact's. Pinned here for
// a record that has a key under every rule and over a generated list.
func TestBlockingKeysKeepTheirStoredValues(t *testing.T) {
	ada := Record{Email: "Ada@Example.com", Phone: "+47 412 34 567", FirstName: "Ada", LastName: "Lovelace", BirthDate: "1815-12-10",
		PostalCode: "0150", City: "Oslo", Address: "Storgata 1", CRMID: "hubspot:1"}
	want := []int64{-7309253484165155975, -6783809725096080920, 2380558532474444223, 2767481408352273778,
		5485921410171836593, 5921897701980878399, 6630774240433819541, 8385908624604480170}
	if got := BlockingKeys(&ada); !slices.Equal(got, want) {
		t.Errorf("Ada's keys %v, want %v", got, want)
	}
	digest, n := uint64(14695981039346656037), 0
	for _, r := range Records(Generate(3000, Difficulties["hard"], 9)) {
		for _, k := range BlockingKeys(&r) {
			digest = (digest ^ uint64(k)) * 1099511628211
			n++
		}
	}
	if n != 18809 || digest != 0xdf714252f9e23252 {
		t.Errorf("a generated list's keys: %d, digest %#x; want 18809, 0xdf714252f9e23252", n, digest)
	}
}
