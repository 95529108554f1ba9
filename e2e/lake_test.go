package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/api/option"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/lake"
)

// lakeLines reads every object of the bucket: name → lines.
func lakeLines(t *testing.T, bucket string) map[string][]kith.LakeLine {
	t.Helper()
	ctx := context.Background()
	b, err := lake.Open(ctx, bucket, stack.GCS.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	objects, err := lake.ReadObjects(ctx, b, "raw/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]kith.LakeLine{}
	for _, o := range objects {
		out[o.Name] = o.Lines
	}
	return out
}

// writeRows writes a CSV of n people, every seventh with an address that is
// refused (quarantined, yet archived like the others).
func writeRows(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("email,first_name,last_name\n")
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("lake.person.%d@example.com", i)
		if i%7 == 0 {
			email = fmt.Sprintf("lake.person.%d@", i)
		}
		// Names hold no digits (a digit is refused in a name).
		letters := strings.Map(func(r rune) rune { return 'a' + (r - '0') }, strconv.Itoa(i))
		fmt.Fprintf(&b, "%s,Person%s,Lake\n", email, letters)
	}
	path := filepath.Join(t.TempDir(), "lake.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLakeArchiveSurvivesAKilledWorker: an import's rows wait in the spool; the
// archive runs in objects of 100 lines and its worker is killed (SIGKILL) while
// it uploads. Another worker finishes the run. The bucket then holds every row
// exactly once: none missing, none in two objects.
func TestLakeArchiveSurvivesAKilledWorker(t *testing.T) {
	e := newEnv(t)
	bucket := e.withLake()
	const rows = 20_000
	path := writeRows(t, rows)
	victim := e.startWorker()
	if out, err := e.cmd("starter", "import", "-batch", "1000", path).CombinedOutput(); err != nil {
		t.Fatalf("starter import: %v\n%s", err, out)
	}
	if n := e.count(`SELECT sum(lines) FROM lake_spool WHERE source = 'import'`); n != rows {
		t.Fatalf("%d rows in the spool, want %d", n, rows)
	}

	archive := e.cmd("starter", "lake", "archive", "-max-lines", "100")
	var out strings.Builder
	archive.Stdout, archive.Stderr = &out, &out
	if err := archive.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "some objects uploaded", 60*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM lake_objects WHERE uploaded_at IS NOT NULL`) >= 10
	})
	// The only worker dies mid-upload; a fresh one takes the activity over
	// when its heartbeat times out (no graceful hand-over).
	victim.Process.Signal(syscall.SIGKILL)
	killAll := e.count(`SELECT count(*) FROM lake_objects WHERE uploaded_at IS NOT NULL`)
	if killAll >= rows/100 {
		t.Fatalf("the archive finished (%d objects) before the worker was killed: make the list longer", killAll)
	}
	e.startWorker()
	if err := archive.Wait(); err != nil {
		t.Fatalf("starter lake archive: %v\n%s", err, out.String())
	}
	t.Logf("killed after %d objects; %s", killAll, strings.TrimSpace(out.String()))

	objects := lakeLines(t, bucket)
	seen := map[string]string{}
	total, quarantined := 0, 0
	for name, lines := range objects {
		if len(lines) > 100 {
			t.Errorf("%s holds %d lines, more than 100", name, len(lines))
		}
		for _, l := range lines {
			if l.Verdict == kith.VerdictQuarantined {
				quarantined++
			}
			if prev, dup := seen[l.Ref]; dup {
				t.Errorf("row %s is in %s and in %s", l.Ref, prev, name)
			}
			seen[l.Ref] = name
			total++
		}
	}
	rowRef := regexp.MustCompile(`:row:(\d+)$`)
	for ref := range seen {
		m := rowRef.FindStringSubmatch(ref)
		if n, _ := strconv.Atoi(m[1]); m == nil || n < 1 || n > rows {
			t.Errorf("a line of no row: %s", ref)
		}
	}
	if total != rows || len(seen) != rows {
		t.Errorf("the bucket holds %d lines of %d distinct rows, want %d", total, len(seen), rows)
	}
	if quarantined != rows/7 {
		t.Errorf("%d quarantined rows archived, want %d", quarantined, rows/7)
	}
	if n := e.count(`SELECT count(*) FROM lake_objects WHERE uploaded_at IS NOT NULL`); n != len(objects) {
		t.Errorf("%d objects recorded, %d in the bucket", n, len(objects))
	}
	recordRun(t, "LakeArchive", "lake_archive_killed.json")
}

// recordRun records the newest run of a workflow type (see recordHistory).
func recordRun(t *testing.T, workflowType, name string) {
	t.Helper()
	if os.Getenv("KITH_RECORD_HISTORIES") == "" {
		return
	}
	c := temporalClient(t)
	resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowType = '" + workflowType + "'"})
	if err != nil || len(resp.Executions) == 0 {
		t.Fatalf("no %s run to record: %v", workflowType, err)
	}
	ex := resp.Executions[0].Execution
	recordHistory(t, ex.GetWorkflowId(), ex.GetRunId(), name)
}

// TestLakeReplayAcceptsWhatTheNewRuleRepairs: the lake holds an import row an
// earlier Kith quarantined (its email had a zero-width space the old rule
// refused; today's email repair removes it), beside rows that were accepted.
// Replaying the day accepts that row (one new contact) and changes nothing
// else; a second replay changes nothing. The analyst's path loads the same
// partition into a scratch BigQuery table.
func TestLakeReplayAcceptsWhatTheNewRuleRepairs(t *testing.T) {
	e := newEnv(t)
	bucket := e.withLake()
	// A link key: identifiers are hashed with it (the spool's keys, an erasure).
	linkKey := []byte("this is a test link key of 32 bytes")
	e.vars = append(e.vars, "KITH_LINK_KEY="+base64.StdEncoding.EncodeToString(linkKey))
	e.store.UseIdentityHasher(kith.IdentityHasher{Keys: [][]byte{linkKey}})
	path := writeRows(t, 6) // rows 1-6: accepted
	e.startWorker()
	if out, err := e.cmd("starter", "import", path).CombinedOutput(); err != nil {
		t.Fatalf("starter import: %v\n%s", err, out)
	}
	observed := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	old, _ := json.Marshal(map[string]any{"file": "0123456789abcdef", "row": 1, "observed_at": observed,
		"record": map[string]string{"email": "Ada.Lovelace\u200b@Example.com", "first_name": "Ada"}})
	if err := e.store.SpoolLines(context.Background(), []kith.LakeLine{{
		ReceivedAt: observed, Source: kith.LakeImport, RequestID: "import-from-an-earlier-kith", Ref: "0123456789abcdef:row:1",
		Verdict: kith.VerdictQuarantined, Codes: []string{"invalid_email"}, Payload: old,
	}}); err != nil {
		t.Fatal(err)
	}
	if out, err := e.cmd("starter", "lake", "archive").CombinedOutput(); err != nil {
		t.Fatalf("starter lake archive: %v\n%s", err, out)
	}
	lines := 0
	for _, ls := range lakeLines(t, bucket) {
		lines += len(ls)
	}
	if lines != 7 {
		t.Fatalf("the lake holds %d lines, want 7", lines)
	}
	const snapshot = `SELECT md5(string_agg(c::text, '|' ORDER BY c.id)) FROM contacts c`
	var before string
	e.store.DB().Get(&before, snapshot)
	contactsBefore := e.count(`SELECT count(*) FROM contacts`)

	day := time.Now().UTC().Format(time.DateOnly)
	replay := func() string {
		t.Helper()
		out, err := e.cmd("starter", "replay", "--source", "import", "--from", observed.Format(time.DateOnly), "--to", day).CombinedOutput()
		if err != nil {
			t.Fatalf("starter replay: %v\n%s", err, out)
		}
		return string(out)
	}
	first := replay()
	for _, want := range []string{"7 records", "quarantined then, accepted now: 1; still quarantined: 0", "contacts created 1, updated 0, unchanged 6"} {
		if !strings.Contains(first, want) {
			t.Errorf("the first replay does not say %q:\n%s", want, first)
		}
	}
	if n := e.count(`SELECT count(*) FROM contacts WHERE lower(email) = 'ada.lovelace@example.com' AND first_name = 'Ada'`); n != 1 {
		t.Errorf("%d contacts for the repaired row, want 1", n)
	}
	var others string
	e.store.DB().Get(&others, `SELECT md5(string_agg(c::text, '|' ORDER BY c.id)) FROM contacts c WHERE lower(email) <> 'ada.lovelace@example.com'`)
	if others != before || e.count(`SELECT count(*) FROM contacts`) != contactsBefore+1 {
		t.Errorf("the replay changed other contacts")
	}
	var after string
	e.store.DB().Get(&after, snapshot)

	second := replay()
	if !strings.Contains(second, "contacts created 0, updated 0, unchanged 7") || !strings.Contains(second, "contacts merged 0") {
		t.Errorf("the second replay changed something:\n%s", second)
	}
	var again string
	e.store.DB().Get(&again, snapshot)
	if again != after {
		t.Error("the second replay changed the contacts")
	}
	// Fix and replay: only what was quarantined.
	out, err := e.cmd("starter", "replay", "--source", "import", "--from", observed.Format(time.DateOnly), "--to", day, "--quarantined").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 records") {
		t.Errorf("replay --quarantined: %v\n%s", err, out)
	}
	if out, err := e.cmd("starter", "replay", "--source", "forms").CombinedOutput(); err == nil || !strings.Contains(string(out), "cannot replay") {
		t.Errorf("a replay of forms: %v\n%s", err, out)
	}
	recordRun(t, "LakeReplay", "lake_replay.json")

	// The analyst's ad-hoc question: today's import partition in BigQuery.
	out, err = e.cmd("starter", "lake", "load", "--source", "import", "--dt", day).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "loaded 7 lines") {
		t.Fatalf("starter lake load: %v\n%s", err, out)
	}
	ctx := context.Background()
	bq, err := bigquery.NewClient(ctx, stack.BigQuery.Project, option.WithEndpoint(stack.BigQuery.Endpoint()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	scratch := bq.Dataset(e.dataset + "_raw").Table("lake_import_" + strings.ReplaceAll(day, "-", ""))
	if _, err := scratch.Metadata(ctx); err != nil {
		t.Fatalf("the scratch table: %v", err)
	}
	// An erasure drops the scratch tables: they hold raw payloads.
	var ada string
	e.store.DB().Get(&ada, `SELECT id::text FROM contacts WHERE lower(email) = 'ada.lovelace@example.com'`)
	if out, err := e.cmd("starter", "erase", ada).CombinedOutput(); err != nil || !strings.Contains(string(out), "lake") {
		t.Fatalf("starter erase: %v\n%s", err, out)
	}
	if _, err := scratch.Metadata(ctx); err == nil {
		t.Error("the scratch table of raw payloads outlived an erasure")
	}
	for name, lines := range lakeLines(t, bucket) {
		for _, l := range lines {
			if strings.Contains(strings.ToLower(string(l.Payload)), "lovelace") {
				t.Errorf("%s still holds the erased person's row", name)
			}
		}
	}
}

// TestLakeReplayOfTheMessySampleChangesNothing: the sample file (wrapped
// emails, national phones, a row that is not UTF-8, one with too many cells …)
// imported twice and replayed with the rules it was imported with: every row
// reads as it was stored, so nothing is created, updated or accepted now.
func TestLakeReplayOfTheMessySampleChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.withLake()
	e.startWorker()
	for range 2 {
		if out, err := e.cmd("starter", "import", "../starter/testdata/contacts.csv").CombinedOutput(); err != nil {
			t.Fatalf("starter import: %v\n%s", err, out)
		}
	}
	if out, err := e.cmd("starter", "lake", "archive").CombinedOutput(); err != nil {
		t.Fatalf("starter lake archive: %v\n%s", err, out)
	}
	rows := e.count(`SELECT sum(lines) FROM lake_spool WHERE source = 'import'`)
	out, err := e.cmd("starter", "replay", "--source", "import").CombinedOutput()
	if err != nil {
		t.Fatalf("starter replay: %v\n%s", err, out)
	}
	for _, want := range []string{fmt.Sprintf("%d records", rows), "quarantined then, accepted now: 0;", "contacts created 0, updated 0,", "contacts merged 0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the replay does not say %q:\n%s", want, out)
		}
	}
}
