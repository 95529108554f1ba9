package lake_test

import (
	"os"
	"testing"

	"github.com/kithhq/kith/devstack"
)

var stack *devstack.Stack

func TestMain(m *testing.M) {
	os.Exit(devstack.TestMain(m, devstack.Options{Postgres: true, GCS: true}, &stack))
}

func devstackRequire(t *testing.T) *devstack.Stack { return devstack.Require(t, stack) }
