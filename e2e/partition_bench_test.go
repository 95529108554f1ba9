package e2e_test

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/workflows"
)

// BenchmarkPartitionedDedup resolves one generated list (KITH_BENCH_DEDUP_RECORDS
// records of the "hard" set, default 20,000), imported with starter import, with
// the Deduplicate workflow twice over copies of that database: in one process
// (one worker, KITH_DEDUP_PARTS=1), and in parts of KITH_BENCH_DEDUP_PART_SIZE
// contacts (default 100,000, the product's) over two worker processes. With
// KITH_BENCH_DEDUP_LARGE records, a larger list is then resolved in parts only
// (one process could not hold it). It reports wall time, comparisons per
// contact and each worker's peak resident memory (VmHWM), the pairwise F1 of
// the partitioned clusters against the single process's, and each run's
// against the generator's truth.
//
// A list of ten million records takes longer to import than to resolve, more
// than a session on a slow machine can give both. With KITH_BENCH_DEDUP_KEEP=1
// and DATABASE_URL naming a PostgreSQL server that outlives the run, the large
// list's import is kept (keptList) and a later run resolves it;
// KITH_BENCH_DEDUP_STAGE=import stops after that import.
func BenchmarkPartitionedDedup(b *testing.B) {
	n := envInt("KITH_BENCH_DEDUP_RECORDS", 20000)
	large := envInt("KITH_BENCH_DEDUP_LARGE", 0)
	if os.Getenv("KITH_BENCH_DEDUP_STAGE") == "import" {
		if large == 0 || os.Getenv("KITH_BENCH_DEDUP_KEEP") != "1" {
			b.Fatal("KITH_BENCH_DEDUP_STAGE=import imports the large list to keep: set KITH_BENCH_DEDUP_LARGE and KITH_BENCH_DEDUP_KEEP=1")
		}
		for b.Loop() {
			l := keptList(b, large, 43)
			b.Logf("large list kept: list of %d records, %d contacts, imported in %s, in database %s",
				len(l.labeled), l.contacts, l.imported.Round(time.Second), l.base.name)
		}
		return
	}
	partSize := envInt("KITH_BENCH_DEDUP_PART_SIZE", activities.DefaultPartSize)
	// The parts' workers run as the README advises for large runs: Go's
	// memory limit a little under the worker's budget of 2 GiB (what is not
	// Go's heap took about 90 MiB) and no collection before it (GOGC=off), so
	// a worker collects garbage when near its budget, not each time its heap
	// doubles — a quarter of a worker's CPU went to the collector at 10M
	// contacts.
	parts := []string{"KITH_DEDUP_PARTS=0", fmt.Sprintf("KITH_DEDUP_PART_SIZE=%d", partSize),
		"GOMEMLIMIT=" + cmp.Or(os.Getenv("KITH_BENCH_WORKER_MEMORY"), "1800MiB"), "GOGC=off"}
	c := temporalClient(b)

	var single, parted, big dedupRun
	var small, bigList benchList
	onlyLarge := os.Getenv("KITH_BENCH_DEDUP_STAGE") == "large"
	if onlyLarge && (large == 0 || os.Getenv("KITH_BENCH_DEDUP_KEEP") != "1") {
		b.Fatal("KITH_BENCH_DEDUP_STAGE=large resolves a kept large list alone: set KITH_BENCH_DEDUP_LARGE and KITH_BENCH_DEDUP_KEEP=1")
	}
	for b.Loop() {
		if !onlyLarge {
			small = importBenchList(b, n, 42)
			single = small.resolve(b, c, "single", []string{"KITH_DEDUP_PARTS=1"}, 1)
			parted = small.resolve(b, c, "parts", parts, 2)
			small.base.drop(b)
		}
		if large > 0 {
			if os.Getenv("KITH_BENCH_DEDUP_KEEP") == "1" {
				bigList = keptList(b, large, 43)
			} else {
				bigList = importBenchList(b, large, 43)
			}
			// In the imported database itself, unless KITH_BENCH_DEDUP_COPY=1
			// asks for a copy that leaves a kept list for another run: ten
			// million records take 24 GB (34 GB before contacts named their
			// fields' shared origin once), twice that beside it.
			in := bigList.base
			if os.Getenv("KITH_BENCH_DEDUP_COPY") == "1" {
				in = bigList.fileCopy(b, "large")
			}
			big = bigList.resolveIn(b, c, in, "large", parts, 2)
		}
	}
	b.StopTimer()
	if onlyLarge {
		b.ReportMetric(big.took.Seconds(), "large_s")
		b.ReportMetric(mib(big.peak()), "large_peak_MiB")
		bigList.log(b, "large list in parts", big)
		return
	}
	ids, entities := asTruth(small.labeled, single.cluster)
	ev := dedup.EvaluateIDs(ids, entities, &dedup.Result{ClusterOf: parted.cluster})
	b.ReportMetric(single.took.Seconds(), "single_s")
	b.ReportMetric(parted.took.Seconds(), "parts_s")
	b.ReportMetric(mib(single.peak()), "single_peak_MiB")
	b.ReportMetric(mib(parted.peak()), "parts_peak_MiB")
	b.ReportMetric(ev.F1, "f1_vs_single")
	small.log(b, "one process", single)
	small.log(b, "parts", parted)
	b.Logf("parts against one process: pairwise F1 %.5f (precision %.5f, recall %.5f)", ev.F1, ev.Precision, ev.Recall)
	if large > 0 {
		b.ReportMetric(big.took.Seconds(), "large_s")
		b.ReportMetric(mib(big.peak()), "large_peak_MiB")
		b.ReportMetric(big.sum.Stats.PerRecord, "large_comparisons/contact")
		bigList.log(b, "large list in parts", big)
	}
}

// benchList is a generated list imported once, whose database the runs copy.
type benchList struct {
	labeled []dedup.Labeled
	base    *env
	// The list is imported in files of chunk records (one file but for a
	// kept list), whose references are fileRefs.
	chunk    int
	fileRefs []string
	imported time.Duration
	contacts int
}

func importBenchList(b *testing.B, n int, seed uint64) benchList {
	l := benchList{labeled: dedup.Generate(n, dedup.Difficulties["hard"], seed)}
	var ref string
	l.base, ref, l.imported = importedOnce(b, l.labeled, "5000")
	l.chunk, l.fileRefs = len(l.labeled), []string{ref}
	l.contacts = l.base.count(`SELECT count(*) FROM contacts WHERE status = 'active'`)
	return l
}

// fileCopy copies the list's database file by file (a WAL-logged copy of
// tens of gigabytes writes them twice) and returns the copy's env.
func (l benchList) fileCopy(b *testing.B, suffix string) *env {
	name := l.base.name + "_" + suffix
	l.base.store.Close() // a template has no sessions
	u, err := postgres.CopyDatabaseFiles(b.Context(), stack.Postgres.URL, name, l.base.name)
	if err != nil {
		b.Fatal(err)
	}
	return envOn(b, name, u)
}

// keptList is importBenchList for a list whose database outlives the run: named
// after its size and seed, imported by the runs that need it and used as it is
// by the first that finds it whole (which resolves it in place and drops it).
// The list is imported in files of KITH_BENCH_DEDUP_CHUNK records, one after
// another, each recorded in the database when its import ends: a run stopped
// midway loses only the file it was importing, and the next run imports that
// one again (an import is idempotent) and goes on. One file after another is
// what one file would do: rows are imported in order, in batches, either way.
func keptList(b *testing.B, n int, seed uint64) benchList {
	// How many records one file holds (KITH_BENCH_DEDUP_CHUNK, default a million).
	keptChunk := envInt("KITH_BENCH_DEDUP_CHUNK", 1000000)
	l := benchList{labeled: dedup.Generate(n, dedup.Difficulties["hard"], seed), chunk: keptChunk}
	name := fmt.Sprintf("e2e_bench_kept_%d_%d", n, seed)
	admin, err := postgres.Open(b.Context(), stack.Postgres.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	var exists bool
	if err := admin.DB().Get(&exists, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, name); err != nil {
		b.Fatal(err)
	}
	if exists {
		u, err := url.Parse(stack.Postgres.URL)
		if err != nil {
			b.Fatal(err)
		}
		u.Path = "/" + name
		l.base = envOn(b, name, u.String())
	} else {
		l.base = newNamedEnv(b, name)
	}
	db := l.base.store.DB()
	db.MustExec(`CREATE TABLE IF NOT EXISTS bench_kept (chunk int PRIMARY KEY, file_ref text NOT NULL, imported_s float8 NOT NULL)`)
	var importer *exec.Cmd
	for c, start := 0, 0; start < len(l.labeled); c, start = c+1, start+keptChunk {
		rows := l.labeled[start:min(start+keptChunk, len(l.labeled))]
		path, ref := writeList(b, rows)
		l.fileRefs = append(l.fileRefs, ref)
		var done struct {
			Ref string  `db:"file_ref"`
			S   float64 `db:"imported_s"`
		}
		switch err := db.Get(&done, `SELECT file_ref, imported_s FROM bench_kept WHERE chunk = $1`, c); {
		case err == nil && done.Ref != ref:
			b.Fatalf("database %s holds file %d of another list: drop it (DROP DATABASE %s) and run again", name, c+1, name)
		case err == nil:
			l.imported += time.Duration(done.S * float64(time.Second))
		case errors.Is(err, sql.ErrNoRows):
			if importer == nil {
				importer = l.base.startWorker()
			}
			took := importList(b, l.base, path, "5000")
			db.MustExec(`INSERT INTO bench_kept VALUES ($1, $2, $3)`, c, ref, took.Seconds())
			l.imported += took
			b.Logf("kept list %s: file %d of %d (%d records) imported in %s", name, c+1, (len(l.labeled)+keptChunk-1)/keptChunk,
				len(rows), took.Round(time.Second))
		default:
			b.Fatal(err)
		}
		os.Remove(path)
	}
	if importer != nil {
		stopWorker(importer)
	}
	l.contacts = l.base.count(`SELECT count(*) FROM contacts WHERE status = 'active'`)
	return l
}

// clusters is each labelled row's contact in e's database now (rowClusters,
// file by file).
func (l benchList) clusters(b *testing.B, e *env) map[string]string {
	out := make(map[string]string, len(l.labeled))
	for c, ref := range l.fileRefs {
		part, _ := rowClusters(b, e, l.labeled[c*l.chunk:min((c+1)*l.chunk, len(l.labeled))], ref)
		maps.Copy(out, part)
	}
	return out
}

// dedupRun is one Deduplicate run's outcome.
type dedupRun struct {
	took    time.Duration
	sum     activities.DedupSummary
	rss     []int64 // peak resident memory of each worker, bytes
	cluster map[string]string
	phases  string
}

func (o dedupRun) peak() int64 { return slices.Max(o.rss) }

func mib(x int64) float64 { return float64(x) / (1 << 20) }

// resolve runs Deduplicate over a copy of the list's database with the given
// worker settings and number of worker processes.
func (l benchList) resolve(b *testing.B, c client.Client, name string, vars []string, workers int) dedupRun {
	return l.resolveIn(b, c, newEnvFrom(b, l.base.name, name), name, vars, workers)
}

// resolveIn is resolve in database e (a copy of the list's, or the list's
// own), which it drops when done.
func (l benchList) resolveIn(b *testing.B, c client.Client, e *env, name string, vars []string, workers int) dedupRun {
	ctx := context.Background()
	e.vars = append(e.vars, vars...)
	e.vars = append(e.vars, "KITH_METRICS_ADDR=127.0.0.1:0")
	var ws []*exec.Cmd
	for i := range workers {
		if dir := os.Getenv("KITH_BENCH_PROFILE"); dir != "" {
			// Each worker's CPU profile, written when it stops.
			vars := e.vars
			e.vars = append(slices.Clip(vars), fmt.Sprintf("KITH_CPU_PROFILE=%s/%s-%d.pprof", dir, name, i))
			ws = append(ws, e.startWorker())
			e.vars = vars
			continue
		}
		ws = append(ws, e.startWorker())
	}
	profiles := os.Getenv("KITH_BENCH_PROFILE")
	if profiles != "" {
		// With KITH_PG_SETTINGS=shared_preload_libraries=pg_stat_statements.
		e.store.DB().MustExec(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
		e.store.DB().MustExec(`SELECT pg_stat_statements_reset()`)
	}
	start := time.Now()
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "dedup-bench/" + name, TaskQueue: workflows.TaskQueue}, workflows.DeduplicateName)
	if err != nil {
		b.Fatal(err)
	}
	var o dedupRun
	if err := wr.Get(ctx, &o.sum); err != nil {
		b.Fatal(err)
	}
	o.took = time.Since(start)
	o.phases = phases(b, c, wr.GetID(), wr.GetRunID())
	for _, w := range ws {
		o.rss = append(o.rss, peakRSS(w.Process.Pid))
		stopWorker(w)
	}
	if profiles != "" {
		writeStatements(b, e, fmt.Sprintf("%s/statements-%s.txt", profiles, name))
	}
	o.cluster = l.clusters(b, e)
	e.drop(b)
	return o
}

// log writes a run's figures, and its clusters' pairwise F1 against the truth,
// in three lines: testing keeps a benchmark's first ten lines of log and
// drops the rest, so the benchmark writes ten (a fourth line of the large
// list's once lost its steps).
func (l benchList) log(b *testing.B, name string, o dedupRun) {
	rss := make([]string, len(o.rss))
	for i, r := range o.rss {
		rss[i] = fmt.Sprintf("%.0f MiB", mib(r))
	}
	ids, entities := make([]string, len(l.labeled)), make([]int, len(l.labeled))
	for i, x := range l.labeled {
		ids[i], entities[i] = x.ID, x.Entity
	}
	truth := dedup.EvaluateIDs(ids, entities, &dedup.Result{ClusterOf: o.cluster})
	b.Logf("%s: list of %d records, %d contacts, imported in %s", name, len(l.labeled), l.contacts, l.imported.Round(time.Second))
	b.Logf("%s: %s; %d parts; %.1f comparisons per contact; %d merged in %d rounds; %d pairs to review; workers' peak RSS %s; against the truth: F1 %.4f",
		name, o.took.Round(100*time.Millisecond), max(o.sum.Parts, 1), o.sum.Stats.PerRecord, o.sum.Merges, o.sum.Rounds,
		o.sum.Review, strings.Join(rss, ", "), truth.F1)
	b.Logf("%s, by step: %s", name, o.phases)
}

// peakRSS is a running process's peak resident memory (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// phases sums a workflow's activities by type, in the order they first ran:
// how many ran and their time added up (parts running side by side add up to
// more than the wall time). It also says when, from the run's start, each
// round's scoring and merges ended.
func phases(b *testing.B, c client.Client, id, runID string) string {
	kinds := map[int64]string{}
	started := map[int64]time.Time{}
	busy := map[string]time.Duration{}
	runs := map[string]int{}
	var order, retried, rounds []string
	var start time.Time
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		at := e.GetEventTime().AsTime()
		if start.IsZero() {
			start = at
		}
		switch {
		case e.GetActivityTaskScheduledEventAttributes() != nil:
			kinds[e.GetEventId()] = e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case e.GetActivityTaskStartedEventAttributes() != nil:
			st := e.GetActivityTaskStartedEventAttributes()
			started[st.GetScheduledEventId()] = at
			if st.GetAttempt() > 1 {
				// Only the last attempt is in the history, with what ended the one before.
				msg := st.GetLastFailure().GetMessage()
				retried = append(retried, fmt.Sprintf("%s attempt %d after %q", kinds[st.GetScheduledEventId()], st.GetAttempt(), msg[:min(len(msg), 160)]))
			}
		case e.GetActivityTaskCompletedEventAttributes() != nil:
			sched := e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
			k := kinds[sched]
			if runs[k] == 0 {
				order = append(order, k)
			}
			runs[k]++
			busy[k] += at.Sub(started[sched])
			// A round's scoring ends where its merges begin (MergeMark),
			// its merges where its links are forgotten.
			switch since := at.Sub(start).Round(time.Second); k {
			case "MergeMark":
				rounds = append(rounds, fmt.Sprintf("%d scored at %s", runs[k], since))
			case "ForgetLinks":
				rounds[len(rounds)-1] += fmt.Sprintf(", merged at %s", since)
			}
		}
	}
	var out []string
	for _, k := range order {
		out = append(out, fmt.Sprintf("%s %d× %s", k, runs[k], busy[k].Round(100*time.Millisecond)))
	}
	if len(rounds) > 0 { // a run in parts
		out = append(out, "rounds: "+strings.Join(rounds, "; "))
	}
	if len(retried) > 0 {
		out = append(out, "retried: "+strings.Join(retried, "; "))
	}
	return strings.Join(out, ", ")
}

// writeStatements writes the statements that took the database's time, most
// first, from pg_stat_statements.
func writeStatements(b *testing.B, e *env, path string) {
	var rows []struct {
		Ms      float64 `db:"ms"`
		Calls   int64   `db:"calls"`
		Rows    int64   `db:"rows"`
		Read    int64   `db:"read"`    // pages not in shared buffers, in MB
		Dirtied int64   `db:"dirtied"` // MB
		WAL     int64   `db:"wal"`     // MB
		Query   string  `db:"query"`
	}
	if err := e.store.DB().Select(&rows, `SELECT total_exec_time AS ms, calls, rows, shared_blks_read / 128 AS read,
			shared_blks_dirtied / 128 AS dirtied, (wal_bytes / 1048576)::bigint AS wal, left(regexp_replace(query, '\s+', ' ', 'g'), 300) AS query
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 30`); err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	fmt.Fprintf(&out, "%13s %14s %15s %9s %11s %9s  %s\n", "time", "calls", "rows", "read MB", "dirtied MB", "WAL MB", "statement")
	for _, r := range rows {
		fmt.Fprintf(&out, "%10.0f ms %8d calls %10d rows %9d %11d %9d  %s\n", r.Ms, r.Calls, r.Rows, r.Read, r.Dirtied, r.WAL, r.Query)
	}
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}
