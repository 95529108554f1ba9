// Package postgres implements Kith's stores (kith.ContactStore, kith.EventStore,
// kith.ImportStore) on PostgreSQL with sqlx and lib/pq, and applies the embedded
// migrations from package schemas.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the "postgres" driver

	"github.com/kithhq/kith"
)

// Store is Kith's PostgreSQL store. It is safe for concurrent use.
type Store struct {
	db  *sqlx.DB
	now func() time.Time
	// newID makes new contacts' ids (kith.NewContactID; a benchmark compares
	// it with random ids).
	newID func() string
	// hasher hashes erased identities (UseIdentityHasher).
	hasher kith.IdentityHasher
	// quarantineCap bounds the bytes one anonymous client puts in quarantine
	// per hour (UseQuarantineCap; default DefaultQuarantineCap).
	quarantineCap int64
}

// DefaultQuarantineCap is how many bytes of refused input one anonymous
// client may have kept in quarantine per hour: sixteen full-size requests.
const DefaultQuarantineCap = 1 << 20

// UseQuarantineCap sets the hourly quarantine budget of an anonymous client.
func (s *Store) UseQuarantineCap(bytes int64) { s.quarantineCap = bytes }

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	conn, err := newTracedConnector(connSettings(url))
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "postgres")
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &Store{db: db, now: time.Now, newID: kith.NewContactID}, nil
}

// DB exposes the connection pool for tests and ad-hoc queries.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CreateMigrated (re)creates the database called name on the server at url (see
// CreateDatabase), opens it and applies the migrations: a test's own database.
func CreateMigrated(ctx context.Context, url, name string) (*Store, error) {
	u, err := CreateDatabase(ctx, url, name)
	if err != nil {
		return nil, err
	}
	s, err := Open(ctx, u)
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// CreateDatabase (re)creates an empty database called name on the server at url
// and returns the URL of the new database. Tests use it to give each test a
// database of its own; name must be a plain identifier.
func CreateDatabase(ctx context.Context, url, name string) (string, error) {
	return createDatabase(ctx, url, name, "", "")
}

// CopyDatabase (re)creates database name as a copy of database from on the
// server at url (CREATE DATABASE … TEMPLATE: the same rows, the same ids) and
// returns its URL; sessions connected to from are ended first. For tests that
// compare runs over one dataset.
func CopyDatabase(ctx context.Context, url, name, from string) (string, error) {
	return createDatabase(ctx, url, name, from, "")
}

// CopyDatabaseFiles is CopyDatabase file by file (STRATEGY FILE_COPY): for a
// database of tens of gigabytes, which the default WAL-logged copy writes
// twice. It checkpoints first, which costs a small copy more than it saves.
func CopyDatabaseFiles(ctx context.Context, url, name, from string) (string, error) {
	return createDatabase(ctx, url, name, from, " STRATEGY FILE_COPY")
}

// DropDatabase drops database name on the server at url, if it is there,
// ending its sessions: for tests whose databases are large.
func DropDatabase(ctx context.Context, url, name string) error {
	admin, err := Open(ctx, url)
	if err != nil {
		return err
	}
	defer admin.Close()
	return dropDatabase(ctx, admin, name)
}

func dropDatabase(ctx context.Context, admin *Store, name string) error {
	if err := plainName(name); err != nil {
		return err
	}
	if _, err := admin.db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// plainName refuses a database name that is not a plain identifier.
func plainName(name string) error {
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return fmt.Errorf("database name %q: use lower-case letters, digits and _", name)
		}
	}
	return nil
}

// createDatabase drops and creates database name, empty or as a copy of from
// (with strategy, a clause naming how it is copied).
func createDatabase(ctx context.Context, url, name, from, strategy string) (string, error) {
	if err := plainName(from); err != nil {
		return "", err
	}
	admin, err := Open(ctx, url)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if err := dropDatabase(ctx, admin, name); err != nil {
		return "", err
	}
	create := `CREATE DATABASE ` + name
	if from != "" {
		if _, err := admin.db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, from); err != nil {
			return "", err
		}
		create += ` TEMPLATE ` + from + strategy
	}
	if _, err := admin.db.ExecContext(ctx, create); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// connSettings are what the store asks of every connection:
//   - binary_parameters: lib/pq sends a query with parameters in one round trip
//     (parse, bind and execute together) instead of two; it also sends []byte
//     parameters in binary, so Kith passes JSON and text parameters as strings.
//   - jit off: Kith's queries touch a few hundred rows, but a recursive query's
//     estimate can reach millions, and compiling it then took 190 of a merge
//     batch's 210 ms (measured with BenchmarkMergeContacts).
//
// A setting the URL names already is left as it is.
func connSettings(dsn string) string {
	settings := [][2]string{{"binary_parameters", "yes"}, {"jit", "off"}}
	if u, err := neturl.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		for _, kv := range settings {
			if !q.Has(kv[0]) {
				q.Set(kv[0], kv[1])
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for _, kv := range settings {
		if !strings.Contains(dsn, kv[0]+"=") {
			dsn += " " + kv[0] + "=" + kv[1]
		}
	}
	return dsn
}
