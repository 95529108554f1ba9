package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/postgres"
)

// BenchmarkContactIDs loads one generated list (KITH_BENCH_IDS_RECORDS records
// of the "hard" set, default 300,000) into two databases side by side, one
// giving new contacts random ids (UUIDv4, the baseline) and one the product's
// time-ordered ones (UUIDv7), then reads both in the parts of a partitioned
// de-duplication (PartContacts, parts of 100,000 contacts). The two take turns
// batch by batch and part by part, the first of each turn alternating, so that
// a busy machine slows both alike; last, each true person's contacts are
// merged (MergeContacts, batches of 200 clusters), taking turns batch by batch.
// Reported: each one's load, read and merge time, and its tables' and indexes'
// size after the merges.
func BenchmarkContactIDs(b *testing.B) {
	n := envInt("KITH_BENCH_IDS_RECORDS", 300000)
	ctx := context.Background()
	stores := [2]*postgres.Store{newNamedStore(b, "bench_ids_random"), newNamedStore(b, "bench_ids_ordered")}
	postgres.UseContactIDs(stores[0], uuid.NewString)
	names := [2]string{"random (UUIDv4)", "time-ordered (UUIDv7)"}
	l := newMergeList(dedup.Generate(n, dedup.Difficulties["hard"], 17), time.Now().UTC().AddDate(-1, 0, 0))
	list := l.list
	var load, read, merge paired
	var rows, merged [2]int
	turn := func(i int, f func(s *postgres.Store) error) time.Duration {
		start := time.Now()
		if err := f(stores[i]); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for b.Loop() {
		for k, batch := range slices.Collect(slices.Chunk(list, 2000)) {
			for _, i := range [2]int{k % 2, 1 - k%2} {
				load.add(i, turn(i, func(s *postgres.Store) error { _, err := s.UpsertContacts(ctx, batch); return err }))
			}
		}
		for _, s := range stores {
			if err := s.RefreshStatistics(ctx); err != nil {
				b.Fatal(err)
			}
		}
		var contacts int
		if err := stores[1].DB().Get(&contacts, `SELECT count(*) FROM contacts`); err != nil {
			b.Fatal(err)
		}
		parts := max(1, contacts/100000)
		for p := range parts {
			lo, hi := dedup.KeyRange(p, parts)
			for _, i := range [2]int{p % 2, 1 - p%2} {
				read.add(i, turn(i, func(s *postgres.Store) error {
					mc, err := s.PartContacts(ctx, lo, hi, 0)
					rows[i] += len(mc.Rows)
					return err
				}))
			}
		}
		// Each true person's contacts merged into the first, 200 clusters a
		// transaction as a run's merges are written.
		var batches [2][][]kith.Merge
		for i, s := range stores {
			batches[i] = slices.Collect(slices.Chunk(l.merges(b, s), 200))
		}
		for k := range batches[0] {
			for _, i := range [2]int{k % 2, 1 - k%2} {
				merge.add(i, turn(i, func(s *postgres.Store) error { _, err := s.MergeContacts(ctx, batches[i][k]...); return err }))
				for _, m := range batches[i][k] {
					merged[i] += len(m.MergedIDs)
				}
			}
		}
	}
	b.StopTimer()
	for i, s := range stores {
		var size int64
		if err := s.DB().Get(&size, `SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['contacts', 'identities', 'match_values', 'contact_keys', 'source_records']::regclass[]) AS t`); err != nil {
			b.Fatal(err)
		}
		tag := [2]string{"random", "ordered"}[i]
		b.ReportMetric(load.total(i).Seconds(), "load_"+tag+"_s")
		b.ReportMetric(read.total(i).Seconds(), "read_"+tag+"_s")
		b.ReportMetric(merge.total(i).Seconds(), "merge_"+tag+"_s")
		b.ReportMetric(float64(size)/(1<<20), "size_"+tag+"_MiB")
		b.Logf("ids %s: %d records loaded in %s, read in parts in %s (%d rows), %d contacts merged in %s; tables and indexes %d MiB",
			names[i], len(list), load.total(i).Round(time.Millisecond), read.total(i).Round(time.Millisecond), rows[i],
			merged[i], merge.total(i).Round(time.Millisecond), size>>20)
	}
	b.ReportMetric(load.medianRatio(), "load_ratio_median")
	b.ReportMetric(read.medianRatio(), "read_ratio_median")
	b.ReportMetric(merge.medianRatio(), "merge_ratio_median")
	b.Logf("ordered against random, the median of the turns' ratios: load %.2f over %d batches, read %.2f over %d parts, merges %.2f over %d batches",
		load.medianRatio(), len(load.took[0]), read.medianRatio(), len(read.took[0]), merge.medianRatio(), len(merge.took[0]))
}

// paired are the times of the turns two stores took at the same steps.
type paired struct{ took [2][]time.Duration }

func (p *paired) add(i int, d time.Duration) { p.took[i] = append(p.took[i], d) }

func (p *paired) total(i int) (sum time.Duration) {
	for _, d := range p.took[i] {
		sum += d
	}
	return sum
}

// medianRatio is the median over the steps of the second store's time over
// the first's.
func (p *paired) medianRatio() float64 {
	if len(p.took[0]) == 0 {
		return 0
	}
	rs := make([]float64, len(p.took[0]))
	for k := range rs {
		rs[k] = p.took[1][k].Seconds() / p.took[0][k].Seconds()
	}
	return median(rs)
}
