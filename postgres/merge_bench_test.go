package postgres_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// BenchmarkMergeContacts measures merging a generated list's duplicates (its
// true people, as the Deduplicate workflow would merge them) in batches of 200
// clusters, the batch the resolution writes with, each survivor given its first
// record's values as its golden record, against a store of
// KITH_BENCH_MERGE_RECORDS generated records (default 20,000) loaded as a list
// is. Reported: merges (contacts folded) per second, and the load's contacts
// per second beside it.
func BenchmarkMergeContacts(b *testing.B) {
	n := envInt("KITH_BENCH_MERGE_RECORDS", 20000)
	ctx := context.Background()
	s := newStore(b)
	labeled := dedup.Generate(n, dedup.Difficulties["hard"], 11)
	at := time.Now().UTC().AddDate(-1, 0, 0)
	var batch []kith.ContactInput
	start := time.Now()
	people := map[int][]string{}                       // entity → emails, in list order
	fieldsOf := map[string]map[kith.Field]kith.Value{} // email → the first record's values
	for i, l := range labeled {
		r := l.Record
		if r.Email == "" {
			continue
		}
		people[l.Entity] = append(people[l.Entity], r.Email)
		in := input(at, kith.SourceImport, "email", r.Email, "first_name", r.FirstName, "last_name", r.LastName,
			"phone", r.Phone, "birth_date", r.BirthDate, "postal_code", r.PostalCode, "city", r.City)
		in.Fields = deleteEmpty(in.Fields)
		in.Fields[kith.FieldEmail] = kith.Value{Value: r.Email, Provenance: kith.Provenance{Source: kith.SourceImport, At: at, Ref: fmt.Sprint("row-", i)}}
		if _, ok := fieldsOf[r.Email]; !ok {
			fieldsOf[r.Email] = in.Fields
		}
		if batch = append(batch, in); len(batch) == 2000 {
			if _, err := s.UpsertContacts(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := s.UpsertContacts(ctx, batch); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(start)
	var contacts int
	s.DB().Get(&contacts, `SELECT count(*) FROM contacts`)

	idOf := map[string]string{}
	rows, err := s.DB().Query(`SELECT value, contact_id::text FROM identities WHERE kind = 'email'`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var e, id string
		rows.Scan(&e, &id)
		idOf[e] = id
	}
	rows.Close()
	var merges []kith.Merge
	entities := make([]int, 0, len(people))
	for e := range people {
		entities = append(entities, e)
	}
	slices.Sort(entities)
	for _, e := range entities {
		var ids []string
		golden := fieldsOf[people[e][0]]
		for _, email := range people[e] {
			if id := idOf[email]; !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 1 {
			merges = append(merges, kith.Merge{SurvivorID: ids[0], MergedIDs: ids[1:], Golden: golden, Score: 0.99, Reason: "bench", Actor: "dedup"})
		}
	}
	folded := 0
	b.ResetTimer()
	start = time.Now()
	for b.Loop() {
		for part := range slices.Chunk(merges, envInt("KITH_BENCH_MERGE_BATCH", 200)) {
			if _, err := s.MergeContacts(ctx, part...); err != nil {
				b.Fatal(err)
			}
			for _, m := range part {
				folded += len(m.MergedIDs)
			}
		}
	}
	took := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(folded)/took.Seconds(), "merges/s")
	b.ReportMetric(float64(contacts)/loaded.Seconds(), "loaded_contacts/s")
	b.Logf("store: %d contacts from %d records loaded in %s; %d contacts merged into %d survivors in %s",
		contacts, n, loaded.Round(time.Second), folded, len(merges), took.Round(time.Millisecond))
}

func deleteEmpty(f map[kith.Field]kith.Value) map[kith.Field]kith.Value {
	for k, v := range f {
		if v.Value == "" {
			delete(f, k)
		}
	}
	return f
}

// envInt is a positive integer from the environment, else def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
