package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/postgres"
)

var (
	stack *devstack.Stack
	bins  string // directory with the worker and starter binaries built for this run
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "kith-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if !testing.Short() {
		// The binaries under test, built from this checkout.
		out, err := exec.Command("go", "build", "-o", dir+"/", "../worker", "../starter").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build worker and starter: %v\n%s", err, out)
			return 1
		}
	}
	bins = dir
	return devstack.TestMain(m, devstack.Options{Postgres: true, Temporal: true, BigQuery: true, GCS: true}, &stack)
}

// env is one test's world: its own database and BigQuery dataset, the shared
// Temporal server and emulator.
type env struct {
	t       testing.TB
	dbURL   string
	dataset string
	store   *postgres.Store
	vars    []string
	name    string // the database's
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvFrom(t, "", "")
}

// newEnvFrom is newEnv with a copy of another test's database (template: its
// env's name; "" for a new one), named after the test and suffix.
func newEnvFrom(t testing.TB, template, suffix string) *env {
	t.Helper()
	s := devstack.Require(t, stack)
	ctx := context.Background()
	// Subtests have their own database: their names' spaces, slashes and
	// commas become underscores.
	name := "e2e_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(t.Name()+"_"+suffix))
	if len(name) > 60 {
		sum := sha256.Sum256([]byte(name))
		name = name[:45] + "_" + hex.EncodeToString(sum[:])[:8]
	}
	var url string
	var err error
	if template == "" {
		url, err = postgres.CreateDatabase(ctx, s.Postgres.URL, name)
	} else {
		url, err = postgres.CopyDatabase(ctx, s.Postgres.URL, name, template)
	}
	if err != nil {
		t.Fatal(err)
	}
	return envOn(t, name, url)
}

// newNamedEnv is newEnv with a new database called name.
func newNamedEnv(t testing.TB, name string) *env {
	t.Helper()
	url, err := postgres.CreateDatabase(context.Background(), devstack.Require(t, stack).Postgres.URL, name)
	if err != nil {
		t.Fatal(err)
	}
	return envOn(t, name, url)
}

// envOn is the env of database name at url, migrated.
func envOn(t testing.TB, name, url string) *env {
	t.Helper()
	s := devstack.Require(t, stack)
	ctx := context.Background()
	e := &env{t: t, dbURL: url, dataset: name, name: name}
	e.vars = append(os.Environ(), "DATABASE_URL="+e.dbURL, "TEMPORAL_ADDRESS="+s.Temporal.Address,
		"TEMPORAL_NAMESPACE="+s.Temporal.Namespace, "LOG_LEVEL=warn", "BIGQUERY_EMULATOR_HOST="+s.BigQuery.Host,
		"BIGQUERY_PROJECT="+s.BigQuery.Project, "BIGQUERY_DATASET="+e.dataset)
	if out, err := e.cmd("starter", "migrate").CombinedOutput(); err != nil {
		t.Fatalf("starter migrate: %v\n%s", err, out)
	}
	var err error
	if e.store, err = postgres.Open(ctx, e.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	return e
}

// withLake gives the env's processes a raw lake: a bucket of its own on the
// shared fake-gcs-server.
func (e *env) withLake() string {
	bucket := strings.Trim(strings.ReplaceAll(e.name, "_", "-"), "-") // a bucket name ends with a letter or digit
	e.vars = append(e.vars, "STORAGE_EMULATOR_HOST="+stack.GCS.Host, "KITH_LAKE_BUCKET="+bucket)
	return bucket
}

func (e *env) cmd(name string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(bins, name), args...)
	c.Env = e.vars
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return c
}

// startWorker starts a worker process; it is stopped at the end of the test.
func (e *env) startWorker() *exec.Cmd {
	e.t.Helper()
	w := e.cmd("worker")
	var logs bytes.Buffer
	w.Stdout, w.Stderr = &logs, &logs
	if err := w.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		w.Process.Signal(syscall.SIGTERM)
		w.Wait()
		if e.t.Failed() {
			e.t.Logf("worker %d output:\n%s", w.Process.Pid, logs.String())
		}
	})
	return w
}

// drop closes the env's store and drops its database, for the benchmarks
// whose databases are large.
func (e *env) drop(t testing.TB) {
	t.Helper()
	e.store.Close()
	if err := postgres.DropDatabase(context.Background(), stack.Postgres.URL, e.name); err != nil {
		t.Fatal(err)
	}
}

func (e *env) count(query string) int {
	e.t.Helper()
	var n int
	if err := e.store.DB().Get(&n, query); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func temporalClient(t testing.TB) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: stack.Temporal.Address, Namespace: stack.Temporal.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func waitFor(t testing.TB, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recordHistory writes one run's history, as the Temporal CLI shows it, into the
// directory KITH_RECORD_HISTORIES names, when it is set: that is how the replay
// test's histories in workflows/testdata are made (see its README.md).
func recordHistory(t *testing.T, workflowID, runID, name string) {
	t.Helper()
	dir := os.Getenv("KITH_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	bin, _ := filepath.Abs("../bin/temporal")
	out, err := exec.Command(bin, "workflow", "show", "--workflow-id", workflowID, "--run-id", runID,
		"--address", stack.Temporal.Address, "--namespace", stack.Temporal.Namespace, "--output", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
		t.Fatal(err)
	}
}
