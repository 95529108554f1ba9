package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
