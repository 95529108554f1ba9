package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/postgres"
)

var stack *devstack.Stack

func TestMain(m *testing.M) {
	os.Exit(devstack.TestMain(m, devstack.Options{Postgres: true}, &stack))
}

var dbSeq atomic.Int64

// newStore returns a store on a fresh, migrated database of its own.
func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	name := fmt.Sprintf("test_%d_%s", os.Getpid(), strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())))
	if len(name) > 60 {
		name = fmt.Sprintf("%s_%d", name[:50], dbSeq.Add(1))
	}
	return newNamedStore(t, name)
}

// newNamedStore returns a store on a fresh, migrated database called name: a
// test that needs more than one database tells them apart by name.
func newNamedStore(t testing.TB, name string) *postgres.Store {
	t.Helper()
	s := devstack.Require(t, stack)
	st, err := postgres.CreateMigrated(context.Background(), s.Postgres.URL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
