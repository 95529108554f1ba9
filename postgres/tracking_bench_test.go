package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kithhq/kith"
)

// BenchmarkAppendEvents is the group commit's statement alone: 2,000 events in
// one transaction (one in 20 relayed), per op.
func BenchmarkAppendEvents(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	props, _ := json.Marshal(map[string]any{"sku": "SKU-1", "percent": 50})
	cx, _ := json.Marshal(map[string]any{"page": map[string]any{"path": "/p/1"}, "userAgent": "bench"})
	n := 0
	for b.Loop() {
		events := make([]kith.Event, 2000)
		relay := make([]bool, len(events))
		for i := range events {
			n++
			events[i] = kith.Event{EventID: fmt.Sprintf("web/b-%d", n), AnonymousID: fmt.Sprintf("anon-%d", n%500), Type: "Scroll Depth",
				Source: kith.SourceTracker, OccurredAt: time.Now(), ReceivedAt: time.Now(), Properties: props, Context: cx,
				Call: "track", WriteSource: "web", MessageID: fmt.Sprintf("b-%d", n)}
			relay[i] = i%20 == 0
		}
		if _, err := s.AppendEvents(ctx, events, relay); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "events_per_s")
}
