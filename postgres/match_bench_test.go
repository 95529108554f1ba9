package postgres_test

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/postgres"
)

// BenchmarkMatchOnWrite measures matching one new contact as it is written
// (activities.Matcher.MatchContact: candidates through the key table, scored
// with the stored model, merged, queued or left) against a store made of
// KITH_BENCH_MATCH_RECORDS generated records (default 20,000; the benchmark in
// docs/benchmarks.md uses 1,450,000, which import as about 1,000,000 contacts:
// duplicates sharing an email are one contact), imported as a list is. The
// model is estimated from the stored records, as the nightly run would, and
// stored. Every 1000th generated record is held out, then written as a new
// contact and matched, one at a time: most are duplicates of stored people.
// Beside it, the baseline of the same run: reading one contact by id.
func BenchmarkMatchOnWrite(b *testing.B) {
	n := envInt("KITH_BENCH_MATCH_RECORDS", 20000)
	ctx := context.Background()
	s := newStore(b)
	records := dedup.Records(dedup.Generate(n, dedup.Difficulties["hard"], 7))
	at := time.Now().UTC().AddDate(-1, 0, 0)
	var stored []dedup.Record
	var held []dedup.Record
	var list []kith.ContactInput
	for i, r := range records {
		if r.Email == "" {
			continue // the import's identity
		}
		if i%1000 == 999 {
			held = append(held, r)
			continue
		}
		stored = append(stored, r)
		list = append(list, recordInput(r, at, ""))
	}
	loaded := loadList(b, s, list)
	var contacts, keys int
	s.DB().Get(&contacts, `SELECT count(*) FROM contacts`)
	s.DB().Get(&keys, `SELECT count(*) FROM contact_keys`)

	start := time.Now()
	x := dedup.NewIndex(stored, dedup.Config{})
	model, err := json.Marshal(x.Model())
	if err != nil {
		b.Fatal(err)
	}
	names := x.NameCounts()
	version, err := s.SaveMatchModel(ctx, kith.MatchModel{Records: names.Records, Model: model, FirstNames: names.First, LastNames: names.Last})
	if err != nil {
		b.Fatal(err)
	}
	trained := time.Since(start)
	x = nil

	m := &activities.Matcher{Store: s}
	var ids []string
	for _, r := range held {
		var id string
		if _, err := s.UpsertContacts(ctx, []kith.ContactInput{recordInput(r, time.Now().UTC(), "")}); err != nil {
			b.Fatal(err)
		}
		if err := s.DB().Get(&id, `SELECT contact_id::text FROM identities WHERE kind = 'email' AND value = $1`, r.Email); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	var took, read []time.Duration
	outcomes := map[string]int{}
	candidates := 0
	b.ResetTimer()
	for b.Loop() {
		took, read = took[:0], read[:0]
		clear(outcomes)
		candidates = 0
		for _, id := range ids {
			t0 := time.Now()
			res, err := m.MatchContact(ctx, activities.MatchInput{ContactID: id})
			took = append(took, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			if res.ModelVersion != version && res.Outcome != activities.MatchNone {
				b.Fatalf("matched with model %d, want the stored %d", res.ModelVersion, version)
			}
			outcomes[res.Outcome]++
			candidates += res.Candidates

			t0 = time.Now()
			if _, err := s.Contact(ctx, cmp.Or(res.SurvivorID, id)); err != nil {
				b.Fatal(err)
			}
			read = append(read, time.Since(t0))
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(quantile(took, 0.5)), "match_p50_ms")
	b.ReportMetric(ms(quantile(took, 0.99)), "match_p99_ms")
	b.ReportMetric(ms(quantile(read, 0.5)), "read_p50_ms")
	b.ReportMetric(ms(quantile(read, 0.99)), "read_p99_ms")
	b.Logf("store: %d contacts, %d blocking keys, loaded in %s; model estimated from %d records in %s; %d new contacts matched: %v, %.1f candidates each",
		contacts, keys, loaded.Round(time.Second), names.Records, trained.Round(time.Second), len(ids), outcomes, float64(candidates)/float64(max(len(ids), 1)))
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// recordInput is a generated record as a list's row arrives: its values from
// an import at the given time, the email's provenance naming ref (a source
// record) when one is given.
func recordInput(r dedup.Record, at time.Time, ref string) kith.ContactInput {
	var kv []string
	for _, f := range [][2]string{{"email", r.Email}, {"first_name", r.FirstName}, {"last_name", r.LastName}, {"phone", r.Phone},
		{"birth_date", r.BirthDate}, {"postal_code", r.PostalCode}, {"city", r.City}, {"address", r.Address}, {"country", "NO"}} {
		if f[1] != "" {
			kv = append(kv, f[0], f[1])
		}
	}
	in := input(at, kith.SourceImport, kv...)
	if ref != "" {
		e := in.Fields[kith.FieldEmail]
		e.Ref = ref
		in.Fields[kith.FieldEmail] = e
	}
	return in
}

// loadList upserts a list in batches of 2,000, as an import does, and returns
// how long it took.
func loadList(b *testing.B, s *postgres.Store, list []kith.ContactInput) time.Duration {
	start := time.Now()
	for batch := range slices.Chunk(list, 2000) {
		if _, err := s.UpsertContacts(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}
