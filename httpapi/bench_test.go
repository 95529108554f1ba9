package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/httpapi"

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
				first := eventSeq + 1
				eventSeq += perRound
				start := time.Now()
				lat, failed := fanOut(perRound, concurrency, func(i int) error { return ops[mode](first + int64(i)) })
				if failed > 0 {
					b.Fatalf("%s: %d of %d failed", mode, failed, perRound)
				}
				latencies[mode] = append(latencies[mode], lat...)
				rates[mode] = append(rates[mode], perRound/time.Since(start).Seconds())
			}
		}
	}
	for mode, ls := range latencies {
		b.ReportMetric(median(rates[mode]), mode+"_per_s")
		b.ReportMetric(percentileMS(ls, 50), mode+"_p50_ms")
		b.ReportMetric(percentileMS(ls, 99), mode+"_p99_ms")
	}
}

// BenchmarkEventsAPIVsCopy measures the events API at line rate — 64 concurrent
// senders posting batches of 20 messages (as the SDKs do) over loopback HTTP,
// each answered after its events are committed by the group-commit writer —
// beside a raw COPY of the same rows (each API round's stored rows, every
// column, copied under new ids) into the same table, in alternating rounds; the
// headline is the median of the rounds' API/COPY ratios. It fails if the stored
// count differs from what was sent.
func BenchmarkEventsAPIVsCopy(b *testing.B) {
	k := newKith(b, workflows.ContactInput{})
	const perRound, rounds, senders, batch = 40_000, 5, 64, 20
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	seq := 0
	bodies := map[int][]byte{}
	api := func() (float64, []time.Duration) {
		first := seq
		seq += perRound / batch
		for n := first; n < seq; n++ { // made before the clock starts: the sender is not the server
			bodies[n] = benchBatch(n)
		}
		start := time.Now()
		lat, failed := fanOut(seq-first, senders, func(i int) error {
			req, _ := http.NewRequest("POST", k.URL+"/v1/batch", bytes.NewReader(bodies[first+i]))
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth(webWriteKey, "")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("answered %d", resp.StatusCode)
			}
			return nil
		})
		if failed > 0 {
			b.Fatalf("%d of %d requests failed", failed, perRound/batch)
		}
		return perRound / time.Since(start).Seconds(), lat
	}
	// The baseline copies the very rows the API stored in the round before (every
	// column, read back before its clock starts) under new ids.
	copyRows := func(first, last int) float64 {
		var ids []string
		for n := first; n < last; n++ {
			for i := range batch {
				ids = append(ids, fmt.Sprintf("web/bench-%d-%d", n, i))
			}
		}
		cols := []string{"event_id", "contact_id", "anonymous_id", "type", "source", "occurred_at", "properties", "call",
			"write_source", "message_id", "user_id", "context", "traits", "sent_at", "received_at", "machine"}
		rows, err := k.Store.DB().Query(`SELECT 'copy/' || event_id, contact_id, anonymous_id, type, source, occurred_at, properties::text, call,
			write_source, message_id, user_id, context::text, traits::text, sent_at, received_at, machine
			FROM events WHERE event_id = ANY($1)`, pq.Array(ids))
		if err != nil {
			b.Fatal(err)
		}
		var stored [][]any
		for rows.Next() {
			row := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range row {
				ptrs[i] = &row[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			stored = append(stored, row)
		}
		rows.Close()
		if len(stored) != perRound {
			b.Fatalf("a round stored %d events, want %d", len(stored), perRound)
		}
		start := time.Now()
		tx, err := k.Store.DB().Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare(pq.CopyIn("events", cols...))
		if err != nil {
			b.Fatal(err)
		}
		for _, row := range stored {
			if _, err := stmt.Exec(row...); err != nil {
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
	var apiRates, copyRates, ratios []float64
	var lat []time.Duration
	for b.Loop() {
		for range rounds {
			first := seq
			rate, l := api()
			cp := copyRows(first, seq)
			apiRates, copyRates, ratios = append(apiRates, rate), append(copyRates, cp), append(ratios, rate/cp)
			lat = append(lat, l...)
		}
	}
	var n int
	if err := k.Store.DB().Get(&n, `SELECT count(*) FROM events WHERE event_id LIKE 'web/%'`); err != nil || n != seq*batch {
		b.Fatalf("%d events stored, %d sent (%v)", n, seq*batch, err)
	}
	b.ReportMetric(median(apiRates), "api_events_per_s")
	b.ReportMetric(median(copyRates), "copy_events_per_s")
	b.ReportMetric(100*median(ratios), "api_pct_of_copy")
	b.ReportMetric(percentileMS(lat, 50), "request_p50_ms")
	b.ReportMetric(percentileMS(lat, 99), "request_p99_ms")
	b.ReportMetric(float64(seq*batch), "events_stored")
}

// nopLog is an event log that stores nothing: BenchmarkEventsHandler measures
// the API's own work without the database.
type nopLog struct{}

func (nopLog) AppendEvents(_ context.Context, events []kith.Event, _ []bool) ([]bool, error) {
	return make([]bool, len(events)), nil
}

// benchBatch is what a site sends: a batch of 20 messages, mostly scroll depth
// and one Product Viewed, with the context analytics-node adds.
func benchBatch(n int) []byte {
	msgs := make([]map[string]any, 20)
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

// BenchmarkEventsHandler is the events API's CPU per batch of 20 (read, check
// the write key, decode, validate, convert), the database left out.
func BenchmarkEventsHandler(b *testing.B) {
	api := &httpapi.Server{
		Events:   nopLog{},
		Sources:  []httpapi.EventSource{{Name: "web", KeySHA256: sha256.Sum256([]byte(webWriteKey))}},
		Realtime: httpapi.DefaultRealtime,
		Now:      time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	h := api.Handler()
	body := benchBatch(1)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(webWriteKey, "")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("answered %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkTriggersVsBareSignal measures personalization triggers end to end
// on the real Temporal dev server, PostgreSQL and the ESP simulator: a
// zero-wait rule, each triggering event sent to its contact's workflow
// (Signal-With-Start, as the event relay does) and timed until the ESP
// simulator receives the message (consent checked, delivery recorded, Mail
// Send). Beside it, in alternating rounds, bare Signal-With-Start calls of the
// same workflow with an event no rule takes. Rates are per round (the trigger
// round ends when the last message arrives); latencies are measured after,
// at a steady quarter of the trigger rate.
func BenchmarkTriggersVsBareSignal(b *testing.B) {
	k := newKith(b, workflows.ContactInput{})
	tr := kith.Triggers{Rules: []kith.TriggerRule{{Name: "bench_instant", Start: kith.EventMatch{Type: "Bench Ping"},
		Conditions: kith.Conditions{Purpose: "email_marketing"}, AnyHour: true, Template: "bench"}}, Version: "bench"}
	tr.Policy.DailyCap = 1 << 30
	tr.Policy.QuietHours.Start, tr.Policy.QuietHours.End = "00:00", "00:00"
	tr.Policy.PurposeFields = map[string][]kith.Field{"email_marketing": {kith.FieldEmail}}
	workflows.UseTriggers(tr)
	const perRound, rounds, concurrency, latencyEvents = 200, 5, 16, 100
	ctx := context.Background()
	var paced float64
	// Subscribed contacts, made before the clocks start: one per event.
	newContacts := func(n int) []string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = uuid.NewString()
		}
		for _, q := range []string{`INSERT INTO contacts (id, email) SELECT id, id::text || '@bench.example' FROM unnest($1::uuid[]) id`,
			`INSERT INTO consents (contact_id, purpose, status, text_version, source, source_ref, recorded_at)
			SELECT id, 'email_marketing', 'granted', 'v1', 'form', 'bench', now() - interval '1 day' FROM unnest($1::uuid[]) id`} {
			if _, err := k.Store.DB().Exec(q, pq.Array(ids)); err != nil {
				b.Fatal(err)
			}
		}
		return ids
	}
	// run signals each contact, concurrency senders at once, or one every pace.
	run := func(ids []string, typ string, pace time.Duration, each func(i int)) time.Duration {
		start := time.Now()
		_, failed := fanOut(len(ids), concurrency, func(i int) error {
			if pace > 0 {
				time.Sleep(time.Until(start.Add(time.Duration(i) * pace)))
			}
			each(i)
			return k.Service.NotifyEvent(ctx, ids[i], kith.EventNotice{EventID: "bench/" + typ + "/" + ids[i], Type: typ, At: time.Now()})
		})
		if failed > 0 {
			b.Fatalf("%d of %d signals failed", failed, len(ids))
		}
		return time.Since(start)
	}
	// arrivals waits for each contact's message at the ESP simulator and
	// returns when the last came and each one's latency from its signal.
	arrivals := func(ids []string, sentAt []time.Time) (time.Time, []time.Duration) {
		index := map[string]int{}
		for i, id := range ids {
			index[id] = i
		}
		got := map[string]time.Time{}
		deadline := time.Now().Add(5 * time.Minute)
		for len(got) < len(ids) {
			for _, m := range k.ESP.Sent() {
				if _, ok := index[m.Args[esp.ArgContact]]; ok {
					got[m.Args[esp.ArgContact]] = m.At
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d triggered messages arrived", len(got), len(ids))
			}
			time.Sleep(5 * time.Millisecond)
		}
		var last time.Time
		var lat []time.Duration
		for id, at := range got {
			lat = append(lat, at.Sub(sentAt[index[id]]))
			if at.After(last) {
				last = at
			}
		}
		return last, lat
	}
	// settled waits until each contact's workflow has finished its workflow
	// tasks (the signal handled): a call whose workflow task still waits in the
	// queue is not sustained work, and its backlog would slow what follows.
	settled := func(ids []string) time.Time {
		for _, id := range ids {
			for {
				d, err := k.Client.DescribeWorkflowExecution(ctx, workflows.ContactWorkflowID(id), "")
				if err != nil {
					b.Fatal(err)
				}
				if d.PendingWorkflowTask == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		return time.Now()
	}
	var triggerRates, bareRates, callRates, ratios []float64
	var latencies []time.Duration
	for b.Loop() {
		for range rounds {
			ids := newContacts(perRound)
			sentAt := make([]time.Time, perRound)
			start := time.Now()
			run(ids, "Bench Ping", 0, func(i int) { sentAt[i] = time.Now() })
			arrivals(ids, sentAt)
			tr := perRound / settled(ids).Sub(start).Seconds()

			bare := newContacts(perRound)
			start = time.Now()
			calls := run(bare, "Bench Noop", 0, func(int) {})
			br := perRound / settled(bare).Sub(start).Seconds()
			triggerRates, bareRates, ratios = append(triggerRates, tr), append(bareRates, br), append(ratios, tr/br)
			callRates = append(callRates, perRound/calls.Seconds())
		}
		// Latency at a steady load the system keeps up with (a quarter of the
		// median trigger rate), not behind a burst's queue.
		pace := time.Duration(float64(time.Second) / (median(triggerRates) / 4))
		ids := newContacts(latencyEvents)
		sentAt := make([]time.Time, len(ids))
		run(ids, "Bench Ping", pace, func(i int) { sentAt[i] = time.Now() })
		_, latencies = arrivals(ids, sentAt)
		paced = float64(time.Second) / float64(pace)
	}
	b.ReportMetric(median(triggerRates), "trigger_events_per_s")
	b.ReportMetric(median(bareRates), "bare_signals_per_s")
	b.ReportMetric(100*median(ratios), "trigger_pct_of_bare")
	b.ReportMetric(median(callRates), "bare_calls_answered_per_s")
	b.ReportMetric(percentileMS(latencies, 50), "event_to_esp_p50_ms")
	b.ReportMetric(percentileMS(latencies, 99), "event_to_esp_p99_ms")
	b.ReportMetric(paced, "latency_load_events_per_s")
}

// fanOut runs op(i) for every i below n on concurrency goroutines (the
// benchmarks' concurrent senders) and returns the latencies of the calls that
// succeeded and how many failed.
func fanOut(n, concurrency int, op func(i int) error) ([]time.Duration, int64) {
	var next, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					failed.Add(1)
					continue
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, failed.Load()
}

// median is the middle of vals (the upper one of an even count), as the
// benchmarks report rates of rounds.
func median(vals []float64) float64 {
	v := slices.Sorted(slices.Values(vals))
	return v[len(v)/2]
}

// percentileMS is the p-th percentile of lat in milliseconds.
func percentileMS(lat []time.Duration, p int) float64 {
	l := slices.Sorted(slices.Values(lat))
	return float64(l[len(l)*p/100].Microseconds()) / 1000
}
