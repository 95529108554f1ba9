package lake_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
)

// TestExpireLakeDeletesPartitionsPastTheRetentionAge: objects of days older
// than the retention age are deleted from the bucket and forgotten; the day at
// the age and newer ones stay; archived lines leave the spool after a day.
func TestExpireLakeDeletesPartitionsPastTheRetentionAge(t *testing.T) {
	ctx := context.Background()
	store, bucket := newLake(t, "lake_expire")
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var lines []kith.LakeLine
	for _, age := range []int{40, 31, 30, 1, 0} {
		lines = append(lines, kith.LakeLine{ReceivedAt: now.AddDate(0, 0, -age), Source: kith.LakeForms, RequestID: "r",
			Verdict: kith.VerdictAccepted, Payload: json.RawMessage(`{"age":` + string(rune('0'+age%10)) + `}`)})
	}
	if err := store.SpoolLines(ctx, lines); err != nil {
		t.Fatal(err)
	}
	a := &activities.Lake{Store: store, Bucket: bucket, Now: func() time.Time { return now }}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	if _, err := env.ExecuteActivity(a.ArchiveSpool, activities.LakeArchiveInput{}); err != nil {
		t.Fatal(err)
	}
	names, _ := bucket.List(ctx, "raw/forms/")
	if len(names) != 5 {
		t.Fatalf("%d objects archived, want one per day: %v", len(names), names)
	}
	// The upload was just now: archived lines stay in the spool a day.
	v, err := env.ExecuteActivity(a.ExpireLake, activities.ExpireInput{RetentionDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.ExpireResult
	v.Get(&res)
	if res.ObjectsDeleted != 2 || res.SpoolTrimmed != 0 {
		t.Errorf("expired %+v, want the 40- and 31-day-old objects and no spool line", res)
	}
	left, _ := bucket.List(ctx, "raw/forms/")
	want := []string{"dt=2026-11-02", "dt=2026-12-01", "dt=2026-12-02"}
	if len(left) != len(want) {
		t.Fatalf("left %v", left)
	}
	for i, w := range want {
		if d, _ := kith.LakeObjectDay(left[i]); d.Format("dt=2006-01-02") != w {
			t.Errorf("left %v, want days %v", left, want)
		}
	}
	a.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	env = suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	if v, err = env.ExecuteActivity(a.ExpireLake, activities.ExpireInput{}); err != nil {
		t.Fatal(err)
	}
	v.Get(&res)
	if res.SpoolTrimmed != 3 {
		t.Errorf("trimmed %d lines a day after their upload, want the 3 of the objects kept", res.SpoolTrimmed)
	}
	var n int
	store.DB().Get(&n, `SELECT COALESCE(sum(lines), 0) FROM lake_spool`)
	if n != 0 {
		t.Errorf("%d lines left in the spool (the expired objects' lines went with them)", n)
	}
}
