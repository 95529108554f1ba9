package devstack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kithhq/kith/devstack"
)

// A missing tool fails with the command that provides it, never a skip.
func TestMissingBinarySaysHowToGetIt(t *testing.T) {
	empty := t.TempDir()
	env := func(k string) string {
		if k == "KITH_BIN_DIR" {
			return empty
		}
		return ""
	}
	for name, opts := range map[string]devstack.Options{
		"temporal":          {Temporal: true, Getenv: env},
		"bigquery-emulator": {BigQuery: true, Getenv: env},
	} {
		_, err := devstack.Start(context.Background(), opts)
		if err == nil || !strings.Contains(err.Error(), "bin/"+name+" not found") || !strings.Contains(err.Error(), "make tools") {
			t.Errorf("%s: err = %v, want it to name the binary and `make tools`", name, err)
		}
	}
}

// Existing servers named in the environment are used as they are.
func TestExistingServersFromEnvironment(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL":           "postgres://u@db.example:5432/kith",
		"TEMPORAL_ADDRESS":       "temporal.example:7233",
		"BIGQUERY_EMULATOR_HOST": "bq.example:9050",
	}
	s, err := devstack.Start(context.Background(), devstack.Options{Postgres: true, Temporal: true, BigQuery: true,
		Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	got := strings.Join(s.Env(), " ")
	for _, want := range []string{"DATABASE_URL=postgres://u@db.example:5432/kith", "TEMPORAL_ADDRESS=temporal.example:7233", "BIGQUERY_EMULATOR_HOST=bq.example:9050"} {
		if !strings.Contains(got, want) {
			t.Errorf("env %q lacks %q", got, want)
		}
	}
}
