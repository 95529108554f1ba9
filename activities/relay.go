package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/kithhq/kith"
)

// Relay drains the event outbox into contacts' workflows.
type Relay struct {
	Store    kith.EventRelayStore
	Notifier kith.ContactNotifier
}

// RelayInput bounds one drain: it runs until For has passed, polling every
// Poll when the outbox is empty.
type RelayInput struct {
	For   time.Duration `json:"for"`
	Poll  time.Duration `json:"poll,omitempty"`  // default 200 ms
	Batch int           `json:"batch,omitempty"` // default 500
}

// RelayResult counts what a drain did; it is also the heartbeat.
type RelayResult struct {
	Signalled  int `json:"signalled"`
	Anonymous  int `json:"anonymous"` // events of visitors still unknown: nobody to tell
	Iterations int `json:"iterations"`
}

// Drain signals every queued event to its contact's workflow (Signal-With-Start)
// and then removes it from the outbox, batch by batch, until in.For has passed.
// A crash between the signal and the removal signals again: the workflow
// ignores an event id it has seen, so nothing counts twice. It heartbeats after
// every batch: a dead worker's drain is retried on another within seconds.
func (a *Relay) Drain(ctx context.Context, in RelayInput) (RelayResult, error) {
	if in.Poll <= 0 {
		in.Poll = 200 * time.Millisecond
	}
	if in.Batch <= 0 {
		in.Batch = 500
	}
	var res RelayResult
	var stopping <-chan struct{}
	if activity.IsActivity(ctx) {
		// A worker shutting down ends the drain at once (the next one starts on
		// another worker) instead of holding the shutdown for its whole timeout.
		stopping = activity.GetWorkerStopChannel(ctx)
	}
	deadline := time.Now().Add(in.For)
	for time.Now().Before(deadline) {
		res.Iterations++
		batch, err := a.Store.PendingEvents(ctx, in.Batch)
		if err != nil {
			return res, err
		}
		done := make([]int64, 0, len(batch))
		for _, e := range batch {
			if e.ContactID == "" {
				res.Anonymous++
			} else {
				if err := a.Notifier.NotifyEvent(ctx, e.ContactID, e.Notice); err != nil {
					return res, err
				}
				res.Signalled++
			}
			done = append(done, e.ID)
		}
		if len(done) > 0 {
			if err := a.Store.RelayedEvents(ctx, done); err != nil {
				return res, err
			}
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, res)
		}
		if len(batch) < in.Batch {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-stopping:
				return res, nil
			case <-time.After(in.Poll):
			}
		}
	}
	return res, nil
}
