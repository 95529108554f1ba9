// Package devstack starts Kith's real dependencies on free loopback ports for tests
// and `make demo`: an ephemeral PostgreSQL cluster (the machine's initdb and
// postgres), the Temporal CLI dev server, the BigQuery emulator and fake-gcs-server
// (the Cloud Storage emulator the raw lake writes to), built into bin/ by `make tools`. Each waits until ready within a bounded time, stops cleanly,
// and says how to get a missing binary. DATABASE_URL, TEMPORAL_ADDRESS and
// BIGQUERY_EMULATOR_HOST and STORAGE_EMULATOR_HOST make it use running servers instead.
//
// Children run in their own process group (a terminal's Ctrl-C reaches only the
// parent, which stops them in order) and die with the parent (Pdeathsig), so a
// killed test run leaves no orphans.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Options choose what to start.
type Options struct {
	Postgres bool
	Temporal bool
	BigQuery bool
	// GCS starts the Cloud Storage emulator the raw lake writes to.
	GCS bool
	// Log receives the servers' output; nil discards it (it is kept for errors),
	// or appends it to the file named by KITH_DEVSTACK_LOG.
	Log io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Stack is a set of running dependencies.
type Stack struct {
	Postgres *Postgres
	Temporal *Temporal
	BigQuery *BigQuery
	GCS      *GCS
	dir      string
	log      *os.File // KITH_DEVSTACK_LOG's file, or nil
}

// Start starts what opts asks for. On error it stops whatever it had started.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	dir, err := os.MkdirTemp("", "kith-devstack-")
	if err != nil {
		return nil, err
	}
	// PostgreSQL runs as the postgres user when we are root: let it reach its dir.
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, err
	}
	s := &Stack{dir: dir}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	// KITH_DEVSTACK_LOG names a file that receives every server's output, to
	// read what the emulators said around a failing test.
	if name := getenv("KITH_DEVSTACK_LOG"); name != "" && opts.Log == io.Discard {
		if s.log, err = os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, fmt.Errorf("KITH_DEVSTACK_LOG: %w", err)
		}
		opts.Log = s.log
	}
	if opts.Postgres {
		if s.Postgres, err = startPostgres(ctx, filepath.Join(dir, "pg"), getenv, opts.Log); err != nil {
			return nil, err
		}
	}
	if opts.Temporal {
		if s.Temporal, err = startTemporal(ctx, filepath.Join(dir, "temporal"), getenv, opts.Log); err != nil {
			return nil, err
		}
	}
	if opts.BigQuery {
		if s.BigQuery, err = startBigQuery(ctx, getenv, opts.Log); err != nil {
			return nil, err
		}
	}
	if opts.GCS {
		if s.GCS, err = startGCS(ctx, getenv, opts.Log); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Stop stops every server it started, in reverse order, and removes their files.
func (s *Stack) Stop() error {
	var errs []error
	if s.GCS != nil {
		errs = append(errs, s.GCS.stop())
	}
	if s.BigQuery != nil {
		errs = append(errs, s.BigQuery.stop())
	}
	if s.Temporal != nil {
		errs = append(errs, s.Temporal.stop())
	}
	if s.Postgres != nil {
		errs = append(errs, s.Postgres.stop())
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	if s.log != nil {
		errs = append(errs, s.log.Close())
	}
	return errors.Join(errs...)
}

// Env returns the environment that points Kith's programs at this stack.
func (s *Stack) Env() []string {
	var env []string
	if s.Postgres != nil {
		env = append(env, "DATABASE_URL="+s.Postgres.URL)
	}
	if s.Temporal != nil {
		env = append(env, "TEMPORAL_ADDRESS="+s.Temporal.Address, "TEMPORAL_NAMESPACE="+s.Temporal.Namespace)
	}
	if s.BigQuery != nil {
		env = append(env, "BIGQUERY_EMULATOR_HOST="+s.BigQuery.Host, "BIGQUERY_PROJECT="+s.BigQuery.Project)
	}
	if s.GCS != nil {
		env = append(env, "STORAGE_EMULATOR_HOST="+s.GCS.Host, "KITH_LAKE_BUCKET="+s.GCS.Bucket)
	}
	return env
}

// findBin finds a tool built by `make tools`: $KITH_BIN_DIR/name, else bin/name in
// the nearest directory at or above the working directory that has one.
func findBin(name string, getenv func(string) string) (string, error) {
	if d := getenv("KITH_BIN_DIR"); d != "" {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		return "", missingBin(name)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", missingBin(name)
		}
		dir = parent
	}
}

func missingBin(name string) error {
	how := map[string]string{
		"temporal":          "run `make tools` (builds the Temporal CLI from tools/temporal, about 10 minutes the first time)",
		"bigquery-emulator": "run `make tools` (builds the BigQuery emulator from tools/bigquery-emulator with clang, 30-60 minutes the first time)",
		"fake-gcs-server":   "run `make tools` (builds fake-gcs-server from tools/fake-gcs-server, a few minutes the first time)",
	}[name]
	return fmt.Errorf("bin/%s not found: %s, or set %s to use a running server", name, how, map[string]string{
		"temporal": "TEMPORAL_ADDRESS", "bigquery-emulator": "BIGQUERY_EMULATOR_HOST", "fake-gcs-server": "STORAGE_EMULATOR_HOST",
	}[name])
}
