package lake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/lake"
	"github.com/kithhq/kith/postgres"
)

// BenchmarkArchive measures the LakeArchive activity (seal lines in
// PostgreSQL, read them, encode gzipped NDJSON, upload, mark archived) beside a
// bare upload of the same objects' bytes to the same emulator, in alternating
// rounds of the same run; it reports the medians in lines per second and their
// ratio. KITH_BENCH_LAKE_LINES (default 50,000) lines of tracking batches, in
// objects of KITH_BENCH_LAKE_OBJECT lines (default 5,000), KITH_BENCH_LAKE_ROUNDS
// rounds (default 5).
func BenchmarkArchive(b *testing.B) {
	if testing.Short() {
		b.Skip("integration benchmark")
	}
	ctx := context.Background()
	n, per, rounds := envInt("KITH_BENCH_LAKE_LINES", 50_000), envInt("KITH_BENCH_LAKE_OBJECT", 5_000), envInt("KITH_BENCH_LAKE_ROUNDS", 5)
	store, err := postgres.CreateMigrated(ctx, stack.Postgres.URL, "lake_bench")
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	store.UseIdentityHasher(kith.IdentityHasher{Keys: [][]byte{[]byte("a bench key of at least thirty-two bytes")}})
	bucket, err := lake.Open(ctx, "kith-lake-bench", stack.GCS.Host)
	if err != nil {
		b.Fatal(err)
	}
	defer bucket.Close()
	lines := trackingLines(n)
	var payload int
	for _, l := range lines {
		payload += len(l.Payload)
	}
	var env testsuite.WorkflowTestSuite
	var archived, bare, fromMemory, spooled []float64
	var steps activities.LakeArchiveResult
	var gz int64
	for r := range rounds {
		b.StopTimer()
		start := time.Now()
		for c := range slices.Chunk(lines, 500) { // as requests arrive: a few hundred lines a statement
			if err := store.SpoolLines(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		spooled = append(spooled, float64(n)/time.Since(start).Seconds())
		// The bare upload: the same objects, encoded beforehand, put one by one.
		var objects [][]byte
		for c := range slices.Chunk(lines, per) {
			data, err := kith.EncodeLakeObject(c)
			if err != nil {
				b.Fatal(err)
			}
			objects = append(objects, data)
		}
		start = time.Now()
		for i, data := range objects {
			if err := bucket.Put(ctx, fmt.Sprintf("bare/%d/%05d.ndjson.gz", r, i), data); err != nil {
				b.Fatal(err)
			}
		}
		bare = append(bare, float64(n)/time.Since(start).Seconds())
		// The same lines encoded and uploaded from memory: an archiver with
		// no spool to read and nothing to record.
		start = time.Now()
		for i, c := range slices.Collect(slices.Chunk(lines, per)) {
			data, err := kith.EncodeLakeObject(c)
			if err != nil {
				b.Fatal(err)
			}
			if err := bucket.Put(ctx, fmt.Sprintf("memory/%d/%05d.ndjson.gz", r, i), data); err != nil {
				b.Fatal(err)
			}
		}
		fromMemory = append(fromMemory, float64(n)/time.Since(start).Seconds())

		a := &activities.Lake{Store: store, Bucket: bucket, Now: time.Now}
		ae := env.NewTestActivityEnvironment()
		ae.RegisterActivity(a)
		b.StartTimer()
		start = time.Now()
		v, err := ae.ExecuteActivity(a.ArchiveSpool, activities.LakeArchiveInput{MaxLines: per, MaxBytes: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		archived = append(archived, float64(n)/time.Since(start).Seconds())
		b.StopTimer()
		var res activities.LakeArchiveResult
		v.Get(&res)
		if res.Lines != n {
			b.Fatalf("archived %d lines, want %d", res.Lines, n)
		}
		gz = res.Bytes
		steps.SealMS, steps.ReadMS, steps.EncodeMS, steps.UploadMS = steps.SealMS+res.SealMS, steps.ReadMS+res.ReadMS, steps.EncodeMS+res.EncodeMS, steps.UploadMS+res.UploadMS
		if _, err := store.TrimLakeSpool(ctx, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(median(archived), "archive_lines/s")
	b.ReportMetric(median(bare), "bare_upload_lines/s")
	b.ReportMetric(100*median(archived)/median(bare), "pct_of_bare")
	b.ReportMetric(median(fromMemory), "memory_upload_lines/s")
	b.ReportMetric(100*median(archived)/median(fromMemory), "pct_of_memory")
	total := float64(steps.SealMS + steps.ReadMS + steps.EncodeMS + steps.UploadMS)
	b.ReportMetric(100*float64(steps.SealMS)/total, "pct_seal")
	b.ReportMetric(100*float64(steps.ReadMS)/total, "pct_read")
	b.ReportMetric(100*float64(steps.EncodeMS)/total, "pct_encode")
	b.ReportMetric(100*float64(steps.UploadMS)/total, "pct_upload")
	b.ReportMetric(median(spooled), "spool_lines/s")
	b.ReportMetric(float64(payload)/float64(n), "payload_bytes/line")
	b.ReportMetric(float64(gz)/float64(n), "gzip_bytes/line")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// trackingLines are n events API requests as the lake keeps them: a batch of
// a page view and a product view each, from a few hundred visitors.
func trackingLines(n int) []kith.LakeLine {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	out := make([]kith.LakeLine, n)
	for i := range out {
		body, _ := json.Marshal(map[string]any{"batch": []map[string]any{
			{"type": "page", "name": "Product", "anonymousId": fmt.Sprintf("anon-%d", i%700), "messageId": fmt.Sprintf("m-%d-1", i),
				"context": map[string]any{"page": map[string]any{"url": "https://shop.example/p/" + strconv.Itoa(i%300)}, "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"}},
			{"type": "track", "event": "Product Viewed", "anonymousId": fmt.Sprintf("anon-%d", i%700), "messageId": fmt.Sprintf("m-%d-2", i),
				"properties": map[string]any{"sku": fmt.Sprintf("SKU-%d", i%300), "price": 12.5, "currency": "EUR"}},
		}})
		out[i] = kith.LakeLine{ReceivedAt: at.Add(time.Duration(i) * 50 * time.Millisecond % time.Hour), Source: kith.LakeTracking,
			RequestID: fmt.Sprintf("req-%d", i), Verdict: kith.VerdictAccepted, Counts: map[string]int{"accepted": 2}, Payload: body}
	}
	return out
}
