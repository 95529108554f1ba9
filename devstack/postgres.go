package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Postgres is a running PostgreSQL server.
type Postgres struct {
	URL  string
	proc *proc // nil when DATABASE_URL named an existing server
}

const postgresStartTimeout = 60 * time.Second

func startPostgres(ctx context.Context, dir string, getenv func(string) string, log io.Writer) (*Postgres, error) {
	if url := getenv("DATABASE_URL"); url != "" {
		return &Postgres{URL: url}, nil
	}
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// initdb and postgres refuse to run as root: run them as the postgres user.
	cred, err := serverCredential(dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "kith",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	port := ports[0]
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		// An ephemeral cluster: durability buys nothing here.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200",
		// No personal data in the server's log: an error's DETAIL can quote a value
		// (a key that already exists), and the failing statement is not logged.
		"-c", "log_error_verbosity=terse", "-c", "log_min_error_statement=panic")
	// KITH_PG_SETTINGS: more server settings, "name=value" separated by
	// spaces (a benchmark's shared_buffers, or pg_stat_statements to see
	// where a run's database time goes).
	for _, kv := range strings.Fields(getenv("KITH_PG_SETTINGS")) {
		if !strings.Contains(kv, "=") {
			return nil, fmt.Errorf("KITH_PG_SETTINGS: %q is not name=value", kv)
		}
		cmd.Args = append(cmd.Args, "-c", kv)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	p, err := startProc("postgres", cmd, log)
	if err != nil {
		return nil, err
	}
	pg := &Postgres{
		URL:  fmt.Sprintf("postgres://kith@127.0.0.1:%d/postgres?sslmode=disable", port),
		proc: p,
	}
	isready := filepath.Join(bin, "pg_isready")
	err = p.waitReady(ctx, postgresStartTimeout, func(ctx context.Context) bool {
		return exec.CommandContext(ctx, isready, "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "kith").Run() == nil
	})
	if err != nil {
		pg.stop()
		return nil, err
	}
	return pg, nil
}

func (pg *Postgres) stop() error {
	// SIGINT is PostgreSQL's fast shutdown: roll back open transactions and exit.
	return pg.proc.stop(syscall.SIGINT, 15*time.Second)
}

// postgresBin finds the newest PostgreSQL server under /usr/lib/postgresql, or in
// $POSTGRES_BIN_DIR.
func postgresBin() (string, error) {
	if d := os.Getenv("POSTGRES_BIN_DIR"); d != "" {
		return d, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: install them with `apt-get install -y postgresql` (as root), or set DATABASE_URL to use a running server")
	}
	sort.Slice(found, func(i, j int) bool { return pgVersion(found[i]) > pgVersion(found[j]) })
	return filepath.Dir(found[0]), nil
}

func pgVersion(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// serverCredential returns the postgres user's credential when running as root (and
// hands dir to it), nil otherwise.
func serverCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: install the postgresql package (`apt-get install -y postgresql`): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	// The temp dir's parents must be reachable by that user.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
