package lake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/postgres"
)

// BenchmarkArchive measures the LakeArchive activity (seal an object in
// PostgreSQL, read its segments, upload, mark it archived) beside a bare
// upload of the very bytes it uploaded, to the same emulator, in alternating
// rounds of the same run; it reports the medians in lines per second and their
// ratio. The lines are spooled as the request path spools them: one line a
// request, 64 senders at once, through the group commit (SpoolWriter), each
// payload compressed on its request's goroutine. Beside them, the same lines
// encoded as one stream and uploaded from memory (what compressing a whole
// object at once would give, in speed and in bytes).
// KITH_BENCH_LAKE_LINES (default 50,000) lines of tracking batches, in objects
// of KITH_BENCH_LAKE_OBJECT lines (default 5,000), KITH_BENCH_LAKE_ROUNDS
// rounds (default 5).
func BenchmarkArchive(b *testing.B) {
	if testing.Short() {
		b.Skip("integration benchmark")
	}
	ctx := context.Background()
	n, per, rounds := envInt("KITH_BENCH_LAKE_LINES", 50_000), envInt("KITH_BENCH_LAKE_OBJECT", 5_000), envInt("KITH_BENCH_LAKE_ROUNDS", 5)
	store, bucket := newLake(b, "lake_bench")
	store.UseIdentityHasher(kith.IdentityHasher{Keys: [][]byte{[]byte("a bench key of at least thirty-two bytes")}})
	spool := &postgres.SpoolWriter{Store: store}
	var payload int
	for _, l := range trackingLines(n) {
		payload += len(l.Payload)
	}
	var env testsuite.WorkflowTestSuite
	var archived, bare, fromMemory, spooled, trim []float64
	var steps activities.LakeArchiveResult
	var gz, memoryGz int64
	for r := range rounds {
		b.StopTimer()
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan kith.LakeLine)
		for range 64 {
			wg.Go(func() {
				for l := range next {
					if err := spool.SpoolLines(ctx, []kith.LakeLine{l}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for _, l := range trackingLines(n) {
			next <- l
		}
		close(next)
		wg.Wait()
		spooled = append(spooled, float64(n)/time.Since(start).Seconds())
		runtime.GC() // the lines are gone from this process, as from a worker's: its heap is the archive's own

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
		steps.SealMS, steps.ReadMS, steps.UploadMS = steps.SealMS+res.SealMS, steps.ReadMS+res.ReadMS, steps.UploadMS+res.UploadMS
		// Trimming writes the objects' identifier index (not written while
		// archiving), then deletes their segments: timed apart.
		start = time.Now()
		if _, err := store.TrimLakeSpool(ctx, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		trim = append(trim, time.Since(start).Seconds()*1000/float64((n+per-1)/per))

		// The bare upload: the bytes this round's archive uploaded, put again
		// one object after another under other names.
		names, err := bucket.List(ctx, "raw/")
		if err != nil {
			b.Fatal(err)
		}
		var objects [][]byte
		for _, name := range names {
			data, err := bucket.Get(ctx, name)
			if err != nil {
				b.Fatal(err)
			}
			objects = append(objects, data)
			if err := bucket.Delete(ctx, name); err != nil {
				b.Fatal(err)
			}
		}
		start = time.Now()
		for i, data := range objects {
			if err := bucket.Put(ctx, fmt.Sprintf("bare/%d/%05d.ndjson.gz", r, i), data); err != nil {
				b.Fatal(err)
			}
		}
		bare = append(bare, float64(n)/time.Since(start).Seconds())

		// The same lines encoded as one stream an object and uploaded from
		// memory: no spool to read and nothing to record.
		lines := trackingLines(n)
		start = time.Now()
		memoryGz = 0
		for i, c := range slices.Collect(slices.Chunk(lines, per)) {
			data, err := kith.EncodeLakeObject(c)
			if err != nil {
				b.Fatal(err)
			}
			memoryGz += int64(len(data))
			if err := bucket.Put(ctx, fmt.Sprintf("memory/%d/%05d.ndjson.gz", r, i), data); err != nil {
				b.Fatal(err)
			}
		}
		fromMemory = append(fromMemory, float64(n)/time.Since(start).Seconds())
	}
	b.ReportMetric(median(archived), "archive_lines/s")
	b.ReportMetric(median(bare), "bare_upload_lines/s")
	b.ReportMetric(100*median(archived)/median(bare), "pct_of_bare")
	b.ReportMetric(median(fromMemory), "memory_upload_lines/s")
	b.ReportMetric(100*median(archived)/median(fromMemory), "pct_of_memory")
	objects := float64(rounds * ((n + per - 1) / per))
	b.ReportMetric(float64(steps.SealMS)/objects, "seal_ms/object")
	b.ReportMetric(float64(steps.ReadMS)/objects, "read_ms/object")
	b.ReportMetric(float64(steps.UploadMS)/objects, "upload_ms/object")
	b.ReportMetric(median(trim), "trim_ms/object")
	b.ReportMetric(median(spooled), "spool_lines/s")
	b.ReportMetric(float64(payload)/float64(n), "payload_bytes/line")
	b.ReportMetric(float64(gz)/float64(n), "gzip_bytes/line")
	b.ReportMetric(float64(memoryGz)/float64(n), "one_stream_gzip_bytes/line")
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

// trackingLines are n events API requests as the lake keeps them: batches
// of a page view and a product view as browsers send them (random message and
// anonymous ids, millisecond timestamps, user agents, page URLs with campaign
// parameters), so they compress as real traffic does, not as a repeated line.
func trackingLines(n int) []kith.LakeLine {
	rng := rand.New(rand.NewPCG(7, 11))
	hex := func(k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = "0123456789abcdef"[rng.IntN(16)]
		}
		return string(b)
	}
	uuid := func() string { return hex(8) + "-" + hex(4) + "-4" + hex(3) + "-a" + hex(3) + "-" + hex(12) }
	visitors := make([]string, 5000)
	for i := range visitors {
		visitors[i] = uuid()
	}
	agents := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	}
	campaigns := []string{"winter-sale", "newsletter-48", "retargeting", "brand", "welcome-series"}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	out := make([]kith.LakeLine, n)
	for i := range out {
		ts := at.Add(time.Duration(rng.IntN(3_600_000)) * time.Millisecond)
		anon, sku := visitors[rng.IntN(len(visitors))], fmt.Sprintf("SKU-%05d", rng.IntN(40_000))
		ctx := map[string]any{"userAgent": agents[rng.IntN(len(agents))], "ip": fmt.Sprintf("203.0.%d.%d", rng.IntN(256), rng.IntN(256)),
			"locale": "en-GB", "timezone": "Europe/London",
			"page": map[string]any{"url": fmt.Sprintf("https://shop.example/p/%s?utm_source=email&utm_campaign=%s&gclid=%s", sku, campaigns[rng.IntN(len(campaigns))], hex(20)),
				"referrer": "https://www.google.com/", "title": "Product " + sku}}
		body, _ := json.Marshal(map[string]any{"sentAt": ts.Add(40 * time.Millisecond).Format(time.RFC3339Nano), "batch": []map[string]any{
			{"type": "page", "name": "Product", "anonymousId": anon, "messageId": uuid(), "timestamp": ts.Format(time.RFC3339Nano), "context": ctx},
			{"type": "track", "event": "Product Viewed", "anonymousId": anon, "messageId": uuid(), "timestamp": ts.Add(15 * time.Millisecond).Format(time.RFC3339Nano),
				"context": ctx, "properties": map[string]any{"sku": sku, "price": float64(rng.IntN(20000)) / 100, "currency": "GBP", "category": campaigns[rng.IntN(5)]}},
		}})
		out[i] = kith.LakeLine{ReceivedAt: ts, Source: kith.LakeTracking,
			RequestID: hex(24), Verdict: kith.VerdictAccepted, Counts: map[string]int{"accepted": 2}, Payload: body}
	}
	return out
}
