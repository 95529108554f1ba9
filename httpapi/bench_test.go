package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/workflows"
)

// BenchmarkWebhookVsBareStart measures what the webhook endpoint accepts (signed
// delivery over HTTP → verify → durable CRMSync start → 200) beside bare
// StartWorkflow calls of the same workflow against the same server, in
// alternating rounds so both see the same machine. tools/bench.sh writes the
// metrics to docs/benchmarks.md.
func BenchmarkWebhookVsBareStart(b *testing.B) {
	k := newKith(b, workflows.ContactInput{})
	const perRound, rounds, concurrency = 400, 3, 16
	contact := k.Sim.Objects("contacts")[0]
	ops := map[string]func(id int64) error{
		"webhook": func(id int64) error {
			code, err := k.Sim.SendWebhook(context.Background(), k.URL+"/v1/webhooks/crm/hubspot",
				[]crmsim.Event{{EventID: id, SubscriptionType: "contact.propertyChange", ObjectID: contact}}, time.Now(), false)
			if err == nil && code != 200 {
				err = fmt.Errorf("answered %d", code)
			}
			return err
		},
		"bare_start": func(id int64) error {
			_, err := k.Client.ExecuteWorkflow(context.Background(), workflows.CRMSyncStartOptions("hubspot", id), workflows.CRMSyncName,
				workflows.CRMSyncInput{Provider: "hubspot", EventID: id, Type: "contact", ObjectID: contact, OccurredAt: time.Now()})
			return err
		},
	}
	latencies := map[string][]time.Duration{}
	rates := map[string][]float64{}
	for b.Loop() {
		for range rounds {
			for _, mode := range []string{"webhook", "bare_start"} {
				var next atomic.Int64
				next.Store(eventSeq + 1)
				eventSeq += perRound
				var mu sync.Mutex
				var wg sync.WaitGroup
				var failed atomic.Int64
				start := time.Now()
				for range concurrency {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							id := next.Add(1) - 1
							if id > eventSeq {
								return
							}
							t0 := time.Now()
							if err := ops[mode](id); err != nil {
								failed.Add(1)
								continue
							}
							d := time.Since(t0)
							mu.Lock()
							latencies[mode] = append(latencies[mode], d)
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if failed.Load() > 0 {
					b.Fatalf("%s: %d of %d failed", mode, failed.Load(), perRound)
				}
				rates[mode] = append(rates[mode], perRound/time.Since(start).Seconds())
			}
		}
	}
	for mode, ls := range latencies {
		slices.Sort(ls)
		r := slices.Clone(rates[mode])
		slices.Sort(r)
		b.ReportMetric(r[len(r)/2], mode+"_per_s")
		b.ReportMetric(float64(ls[len(ls)/2].Microseconds())/1000, mode+"_p50_ms")
		b.ReportMetric(float64(ls[len(ls)*99/100].Microseconds())/1000, mode+"_p99_ms")
	}
}

// BenchmarkEventsAPIVsCopy measures the events API at line rate — 64 concurrent
// senders posting batches of 20 messages (as the SDKs do) over loopback HTTP,
// each answered after its events are committed by the group-commit writer —
// beside a raw COPY of the same number of rows into the same table, in
// alternating rounds. It fails if the stored count differs from what was sent.
func BenchmarkEventsAPIVsCopy(b *testing.B) {
	k := newKith(b, workflows.ContactInput{})
	const perRound, rounds, senders, batch = 40_000, 3, 64, 20
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	seq := 0
	// What a site sends: mostly page views and scroll depth, one Product Viewed
	// (relayed to the contact's workflow) in a batch of 20.
	body := func(n int) []byte {
		msgs := make([]map[string]any, batch)
		for i := range msgs {
			event := "Scroll Depth"
			if i == 0 {
				event = "Product Viewed"
			}
			msgs[i] = map[string]any{"type": "track", "messageId": fmt.Sprintf("bench-%d-%d", n, i), "anonymousId": fmt.Sprintf("bench-anon-%d", n%500),
				"event": event, "properties": map[string]any{"sku": "SKU-1", "price": 19.99, "percent": 50},
				"timestamp": "2026-12-02T10:00:00.000Z", "sentAt": "2026-12-02T10:00:01.000Z",
				"context": map[string]any{"page": map[string]any{"path": "/p/1", "url": "https://shop.example/p/1"}, "userAgent": "Mozilla/5.0 (bench)",
					"library": map[string]any{"name": "analytics-node", "version": "3.1.0"}}}
		}
		b, _ := json.Marshal(map[string]any{"batch": msgs})
		return b
	}
	bodies := map[int][]byte{}
	api := func() (float64, []time.Duration) {
		first := seq
		seq += perRound / batch
		for n := first; n < seq; n++ { // made before the clock starts: the sender is not the server
			bodies[n] = body(n)
		}
		var next atomic.Int64
		next.Store(int64(first))
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		var failed atomic.Int64
		start := time.Now()
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n := int(next.Add(1) - 1)
					if n >= seq {
						return
					}
					req, _ := http.NewRequest("POST", k.URL+"/v1/batch", bytes.NewReader(bodies[n]))
					req.Header.Set("Content-Type", "application/json")
					req.SetBasicAuth(webWriteKey, "")
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil || resp.StatusCode != 200 {
						failed.Add(1)
						if resp != nil {
							resp.Body.Close()
						}
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					d := time.Since(t0)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			b.Fatalf("%d of %d requests failed", failed.Load(), perRound/batch)
		}
		return perRound / time.Since(start).Seconds(), lat
	}
	copyRows := func(round int) float64 {
		start := time.Now()
		tx, err := k.Store.DB().Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare(pq.CopyIn("events", "event_id", "anonymous_id", "type", "source", "occurred_at", "properties",
			"call", "write_source", "message_id", "context"))
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		for i := range perRound {
			id := fmt.Sprintf("copy-%d-%d", round, i)
			if _, err := stmt.Exec("copy/"+id, fmt.Sprintf("bench-anon-%d", i%500), "Product Viewed", "tracker", now,
				`{"sku": "SKU-1", "price": 19.99}`, "track", "copy", id, `{"page": {"path": "/p/1"}, "userAgent": "bench"}`); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := stmt.Exec(); err != nil {
			b.Fatal(err)
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		return perRound / time.Since(start).Seconds()
	}
	var apiRates, copyRates []float64
	var lat []time.Duration
	for b.Loop() {
		for r := range rounds {
			rate, l := api()
			apiRates, lat = append(apiRates, rate), append(lat, l...)
			copyRates = append(copyRates, copyRows(r))
		}
	}
	var n int
	if err := k.Store.DB().Get(&n, `SELECT count(*) FROM events WHERE write_source = 'web'`); err != nil || n != seq*batch {
		b.Fatalf("%d events stored, %d sent (%v)", n, seq*batch, err)
	}
	slices.Sort(lat)
	slices.Sort(apiRates)
	slices.Sort(copyRates)
	b.ReportMetric(apiRates[len(apiRates)/2], "api_events_per_s")
	b.ReportMetric(copyRates[len(copyRates)/2], "copy_events_per_s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "request_p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "request_p99_ms")
	b.ReportMetric(float64(seq*batch), "events_stored")
}
