package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/quality"
)

// BenchmarkCleaning measures the cleaning pipeline's throughput — re-standardize
// (writes, quarantine, imputed ages, completeness) → de-duplicate and merge →
// rescore the survivors → archive — in contacts per second, on generated messy
// contacts: the "hard" de-duplication set (duplicates with typos, nicknames,
// missing fields), every 25th phone invalid, a fifth of the contacts inactive.
// Beside it, in the same round, the baseline of a read-only pass over the same
// database: every contact read in the same batches and standardized in memory,
// nothing written. Each round has a fresh database; tools/bench.sh writes the
// median round to docs/benchmarks.md.
func BenchmarkCleaning(b *testing.B) {
	const n, rounds = 10000, 3
	ctx := context.Background()
	now := time.Now().UTC()
	var pipeline, baseline []float64
	var last string
	for b.Loop() {
		for r := range rounds {
			s := seedMessy(b, n, now, uint64(r+1))
			var contacts int
			s.DB().Get(&contacts, `SELECT count(*) FROM contacts`)

			start := time.Now()
			read := 0
			for after := ""; ; {
				batch, err := s.ContactsAfter(ctx, after, 0, 500)
				if err != nil {
					b.Fatal(err)
				}
				if len(batch) == 0 {
					break
				}
				for _, c := range batch {
					raw := make(map[kith.Field]string, len(c.Fields))
					for f, v := range c.Fields {
						raw[f] = v.Value
					}
					quality.Record(raw, quality.Options{Now: now})
					read++
				}
				after = batch[len(batch)-1].ID
			}
			baseline = append(baseline, float64(read)/time.Since(start).Seconds())

			start = time.Now()
			std, dd, ar, took := cleanAll(b, s, now, 500)
			pipeline = append(pipeline, float64(contacts)/time.Since(start).Seconds())
			last = fmt.Sprintf("%d contacts: %d changed, %d values quarantined, %d ages imputed; %d merged, %d pairs to review; archived %+v; "+
				"steps: standardize %.1fs, dedup %.1fs, rescore %.1fs, archive %.1fs", contacts, std.Changed, std.Rejected, std.Imputed,
				dd.Merges, dd.Review, ar, took["standardize"].Seconds(), took["dedup"].Seconds(), took["rescore"].Seconds(), took["archive"].Seconds())
		}
	}
	b.ReportMetric(median(pipeline), "cleaned_contacts_per_s")
	b.ReportMetric(median(baseline), "readonly_contacts_per_s")
	b.Logf("last round: %s", last)
}

// seedMessy fills a fresh database with n generated contacts (and their
// duplicates); see BenchmarkCleaning.
func seedMessy(b *testing.B, n int, now time.Time, seed uint64) *postgres.Store {
	b.Helper()
	s := newStore(b)
	ctx := context.Background()
	at := now.AddDate(0, -1, 0)
	var in []kith.ContactInput
	for i, r := range dedup.Records(dedup.Generate(n, dedup.Difficulties["hard"], seed)) {
		if r.Email == "" {
			continue
		}
		phone := r.Phone
		if i%25 == 0 {
			phone = "12345"
		}
		var kv []string
		for _, f := range [][2]string{{"email", r.Email}, {"first_name", r.FirstName}, {"last_name", r.LastName}, {"phone", phone},
			{"birth_date", r.BirthDate}, {"postal_code", r.PostalCode}, {"city", r.City}, {"country", "NO"}} {
			if f[1] != "" {
				kv = append(kv, f[0], f[1])
			}
		}
		in = append(in, input(at, kith.SourceImport, kv...))
	}
	for chunk := range slices.Chunk(in, 1000) {
		if _, err := s.UpsertContacts(ctx, chunk); err != nil {
			b.Fatal(err)
		}
	}
	// Everyone was created two years ago; four in five engaged last month.
	if _, err := s.DB().Exec(`UPDATE contacts SET created_at = $1`, now.AddDate(-2, 0, 0)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO events (event_id, contact_id, type, source, occurred_at)
		SELECT 'bench-' || id, id, 'page_view', 'tracker', $1 FROM contacts WHERE ('x' || substr(md5(id::text), 1, 2))::bit(8)::int % 5 <> 0`, at); err != nil {
		b.Fatal(err)
	}
	return s
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
