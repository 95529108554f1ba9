package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/postgres"
)

// BenchmarkMergeContacts measures merging a generated list's duplicates (its
// true people, as the Deduplicate workflow would merge them) in batches of 200
// clusters, the batch the resolution writes with, each survivor given its first
// record's values as its golden record, against a store of
// KITH_BENCH_MERGE_RECORDS generated records (default 20,000) loaded as a list
// is. Reported: merges (contacts folded) per second by one writer (the first
// half of the clusters) and by two side by side (the second half), and the
// load's contacts per second.
func BenchmarkMergeContacts(b *testing.B) {
	n := envInt("KITH_BENCH_MERGE_RECORDS", 20000)
	ctx := context.Background()
	s := newStore(b)
	l := newMergeList(dedup.Generate(n, dedup.Difficulties["hard"], 11), time.Now().UTC().AddDate(-1, 0, 0))
	loaded := loadList(b, s, l.list)
	var contacts int
	s.DB().Get(&contacts, `SELECT count(*) FROM contacts`)
	merges := l.merges(b, s)
	// The first half is merged by one writer, the second by two side by side
	// (as a run's merge parts are), each taking every other cluster.
	size := envInt("KITH_BENCH_MERGE_BATCH", 200)
	merge := func(ms []kith.Merge) (int, error) {
		folded := 0
		for part := range slices.Chunk(ms, size) {
			if _, err := s.MergeContacts(ctx, part...); err != nil {
				return folded, err
			}
			for _, m := range part {
				folded += len(m.MergedIDs)
			}
		}
		return folded, nil
	}
	half := len(merges) / 2
	var one, two int
	var tookOne, tookTwo time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		var err error
		if one, err = merge(merges[:half]); err != nil {
			b.Fatal(err)
		}
		tookOne = time.Since(start)

		var sides [2][]kith.Merge
		for i, m := range merges[half:] {
			sides[i%2] = append(sides[i%2], m)
		}
		start = time.Now()
		var wg sync.WaitGroup
		var folded [2]int
		var errs [2]error
		for i := range sides {
			wg.Go(func() { folded[i], errs[i] = merge(sides[i]) })
		}
		wg.Wait()
		tookTwo = time.Since(start)
		if err := errors.Join(errs[:]...); err != nil {
			b.Fatal(err)
		}
		two = folded[0] + folded[1]
	}
	b.StopTimer()
	b.ReportMetric(float64(one)/tookOne.Seconds(), "merges/s")
	b.ReportMetric(float64(two)/tookTwo.Seconds(), "merges_2writers/s")
	b.ReportMetric(float64(contacts)/loaded.Seconds(), "loaded_contacts/s")
	b.Logf("store: %d contacts from %d records loaded in %s; %d contacts merged into %d survivors by one writer in %s, %d by two in %s; batches of %d clusters",
		contacts, n, loaded.Round(time.Second), one, half, tookOne.Round(time.Millisecond), two, tookTwo.Round(time.Millisecond), size)
}

// envInt is a positive integer from the environment, else def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// mergeList is a generated list as the merge benchmarks load it (the records
// with an email), with each true person's emails, to merge the contacts they
// made.
type mergeList struct {
	list     []kith.ContactInput
	people   map[int][]string                     // entity → emails, in list order
	fieldsOf map[string]map[kith.Field]kith.Value // email → the first record's values
}

func newMergeList(labeled []dedup.Labeled, at time.Time) mergeList {
	l := mergeList{people: map[int][]string{}, fieldsOf: map[string]map[kith.Field]kith.Value{}}
	for i, x := range labeled {
		r := x.Record
		if r.Email == "" {
			continue
		}
		l.people[x.Entity] = append(l.people[x.Entity], r.Email)
		in := recordInput(r, at, fmt.Sprint("row-", i))
		if _, ok := l.fieldsOf[r.Email]; !ok {
			l.fieldsOf[r.Email] = in.Fields
		}
		l.list = append(l.list, in)
	}
	return l
}

// merges are the merges of the list's true people in s, in entity order: each
// person's contacts into the first, with its first record's values as the
// golden record.
func (l mergeList) merges(b *testing.B, s *postgres.Store) []kith.Merge {
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
	entities := make([]int, 0, len(l.people))
	for e := range l.people {
		entities = append(entities, e)
	}
	slices.Sort(entities)
	used := map[string]bool{} // two people can share an email, so a contact: it is merged once
	for _, e := range entities {
		var ids []string
		golden := l.fieldsOf[l.people[e][0]]
		for _, email := range l.people[e] {
			if id := idOf[email]; !used[id] {
				used[id] = true
				ids = append(ids, id)
			}
		}
		if len(ids) > 1 {
			merges = append(merges, kith.Merge{SurvivorID: ids[0], MergedIDs: ids[1:], Golden: golden, Score: 0.99, Reason: "bench", Actor: "dedup"})
		}
	}
	return merges
}
