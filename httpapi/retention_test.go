package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/workflows"
)

// testEventRetention is the test worker's event retention age.
const testEventRetention = 30 * 24 * time.Hour

// TestRetentionDeletesEventsPastTheirAge: events sent through the events API
// with old timestamps are deleted by the Retention workflow, recent ones kept,
// and old quarantine budgets (IP addresses) go too.
func TestRetentionDeletesEventsPastTheirAge(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	anon := "retention-" + uuid.NewString()
	now := time.Now().UTC()
	for i, at := range []time.Time{now.Add(-400 * 24 * time.Hour), now.Add(-31 * 24 * time.Hour), now.Add(-29 * 24 * time.Hour), now} {
		b, _ := json.Marshal(map[string]any{"anonymousId": anon, "event": "Product Viewed", "messageId": anon + "-" + string(rune('a'+i)),
			"timestamp": at.Format(time.RFC3339Nano)})
		if code, e := k.postEvents(t, "/v1/track", webWriteKey, b, false); code != 200 {
			t.Fatalf("track: %d %+v", code, e.Error)
		}
	}
	eventually(t, "the events are stored", func() bool {
		return k.count(t, `SELECT count(*) FROM events WHERE anonymous_id = $1`, anon) == 4
	})
	k.Store.DB().MustExec(`INSERT INTO quarantine_budgets (client, hour, kept) VALUES ('ip:192.0.2.1', date_trunc('hour', now()) - interval '8 days', 1),
		('ip:192.0.2.2', date_trunc('hour', now()) - interval '6 days', 1)`)

	run, err := k.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "retention-" + anon, TaskQueue: workflows.TaskQueue},
		workflows.RetentionName, activities.RetentionInput{BatchSize: 1}) // batches of one: the loop is exercised
	if err != nil {
		t.Fatal(err)
	}
	var res activities.RetentionResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if n := k.count(t, `SELECT count(*) FROM events WHERE anonymous_id = $1`, anon); n != 2 {
		t.Errorf("%d of the visitor's events left, want the 2 younger than 30 days", n)
	}
	if res.Events < 2 || res.Budgets != 1 {
		t.Errorf("result %+v, want at least 2 events and 1 budget deleted", res)
	}
	if n := k.count(t, `SELECT count(*) FROM quarantine_budgets WHERE client LIKE 'ip:192.0.2.%'`); n != 1 {
		t.Errorf("%d budget rows left, want the one younger than a week", n)
	}
	recordHistory(t, k, run.GetID(), run.GetRunID(), "retention.json")
}
