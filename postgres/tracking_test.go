package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/postgres"
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

// slowLog is an event log that holds every write until release is closed.
type slowLog struct{ release chan struct{} }

func (l slowLog) AppendEvents(_ context.Context, events []kith.Event, _ []bool) ([]bool, error) {
	<-l.release
	return make([]bool, len(events)), nil
}

// TestEventWriterRefusesWhenFull: the group commit's queue is bounded; a full
// queue answers CodeBusy at once instead of buffering without limit.
func TestEventWriterRefusesWhenFull(t *testing.T) {
	log := slowLog{release: make(chan struct{})}
	w := &postgres.EventWriter{Log: log, Queue: 1, Writers: 1}
	ev := []kith.Event{{EventID: "e", Type: "t"}}
	errs := make(chan error, 2)
	go func() { _, err := w.AppendEvents(context.Background(), ev, nil); errs <- err }() // being written
	time.Sleep(100 * time.Millisecond)
	go func() { _, err := w.AppendEvents(context.Background(), ev, nil); errs <- err }() // queued
	time.Sleep(100 * time.Millisecond)
	if _, err := w.AppendEvents(context.Background(), ev, nil); kith.ErrorCode(err) != kith.CodeBusy {
		t.Errorf("a third request while one is written and one queued: %v, want busy", err)
	}
	close(log.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("a request the writer took failed: %v", err)
		}
	}
}
