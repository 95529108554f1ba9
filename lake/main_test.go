package lake_test

import (
	"context"
	"os"
	"testing"

	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/lake"
	"github.com/kithhq/kith/postgres"
)

var stack *devstack.Stack

func TestMain(m *testing.M) {
	os.Exit(devstack.TestMain(m, devstack.Options{Postgres: true, GCS: true}, &stack))
}

// newLake is a test's own migrated database (name) and bucket on the stack,
// closed when the test ends.
func newLake(tb testing.TB, name string) (*postgres.Store, *lake.Bucket) {
	tb.Helper()
	s := devstack.Require(tb, stack)
	ctx := context.Background()
	store, err := postgres.CreateMigrated(ctx, s.Postgres.URL, name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	bucket, err := lake.Open(ctx, "kith-"+name, s.GCS.Host)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bucket.Close() })
	return store, bucket
}
