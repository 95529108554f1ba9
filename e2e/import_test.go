package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/workflows"
)

// The sample CSV that `make demo` imports: 37 data rows, 25 distinct people with
// emails, 2 repeats of earlier people, 3 rows with one refused value (quarantined
// with its reason, the rest imported), 6 rows that make no contact (quarantined
// whole), and one row with a national phone, a UK postcode and no email, which
// becomes a contact of its own (known by its record key).
const sample = "../starter/testdata/contacts.csv"

func TestImportSampleIsIdempotent(t *testing.T) {
	e := newEnv(t)
	e.startWorker()

	out, err := e.cmd("starter", "import", "-batch", "10", sample).CombinedOutput()
	if err != nil {
		t.Fatalf("starter import: %v\n%s", err, out)
	}
	if want := "import done: 37 rows: 29 imported (new), 1 updated, 1 unchanged, 9 with refused values quarantined (6 of them made no contact)"; !strings.Contains(string(out), want) {
		t.Fatalf("first import printed:\n%s\nwant a line %q", out, want)
	}
	want := map[string]int{
		"SELECT count(*) FROM contacts":                         29,
		"SELECT count(*) FROM identities":                       29,
		"SELECT count(*) FROM identities WHERE kind = 'record'": 1,
		"SELECT count(*) FROM contacts WHERE email IS NULL":     1,
		"SELECT count(*) FROM quarantine":                       9,
		// A refused value costs only itself: Carol's impossible birth date,
		// Dave's unknown country and Gina's undecodable first name.
		"SELECT count(*) FROM contacts WHERE email IN ('carol@example.com', 'dave@example.com', 'gina@example.com')": 3,
		"SELECT count(*) FROM contacts WHERE email = 'carol@example.com' AND birth_date IS NULL":                     1,
		// The national phone was read in the UK, which its postcode's shape
		// names, and the inference is kept with the value; the country it
		// implies is flagged as inferred.
		"SELECT count(*) FROM contacts WHERE email IS NULL AND phone = '+442079460004' AND postal_code = 'SW1A 1AA' " +
			"AND field_provenance->'phone'->>'method' = 'region GB from postal code' " +
			"AND country = 'GB' AND (field_provenance->'country'->>'imputed')::boolean": 1,
		// Messy case and whitespace were standardized.
		"SELECT count(*) FROM contacts WHERE email <> lower(trim(email))":                              0,
		"SELECT count(*) FROM contacts WHERE first_name <> trim(first_name)":                           0,
		"SELECT count(*) FROM contacts WHERE email = 'grace.hopper@example.com' AND city = 'New York'": 1,
		// Each email's source: its own, or the origin its contact's fields share.
		"SELECT count(*) FROM contacts WHERE field_provenance ? 'email' AND coalesce(field_provenance->'email'->>'source', field_provenance->'_'->>'source') = 'import'": 28,
	}
	for q, n := range want {
		if got := e.count(q); got != n {
			t.Errorf("%s = %d, want %d", q, got, n)
		}
	}
	codes := map[string]int{}
	rows, err := e.store.DB().Query(`SELECT v->>'code' FROM quarantine, jsonb_array_elements(violations) v`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		codes[c]++
	}
	rows.Close()
	wantCodes := map[string]int{"invalid_email": 1, "no_email_address": 1, "no_identity": 1, "invalid_date": 1, "invalid_country": 1,
		"invalid_email_domain": 1, "wrong_field_count": 1, "malformed_csv": 1, "not_utf8": 1}
	if fmt.Sprint(codes) != fmt.Sprint(wantCodes) {
		t.Errorf("quarantine codes = %v, want %v", codes, wantCodes)
	}
	// The invalid UTF-8 row is kept byte for byte.
	var payload []byte
	if err := e.store.DB().Get(&payload, `SELECT payload FROM quarantine WHERE violations @> '[{"code":"not_utf8"}]'`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(payload), "G\xffina") {
		t.Errorf("quarantined payload = %q, want the raw row", payload)
	}

	// The same file again: nothing new, nothing duplicated.
	out, err = e.cmd("starter", "import", sample).CombinedOutput()
	if err != nil {
		t.Fatalf("second starter import: %v\n%s", err, out)
	}
	if want := "import done: 37 rows: 0 imported (new), 0 updated, 31 unchanged, 9 with refused values quarantined (6 of them made no contact)"; !strings.Contains(string(out), want) {
		t.Fatalf("second import printed:\n%s\nwant a line %q", out, want)
	}
	for _, q := range []string{"SELECT count(*) FROM contacts", "SELECT count(*) FROM identities"} {
		if got := e.count(q); got != 29 {
			t.Errorf("after re-import %s = %d, want 29", q, got)
		}
	}
	if got := e.count("SELECT count(*) FROM quarantine"); got != 9 {
		t.Errorf("after re-import quarantine = %d, want 9", got)
	}
}

func TestImportResumesAfterWorkerIsKilled(t *testing.T) {
	e := newEnv(t)
	const n = 40000
	path := filepath.Join(t.TempDir(), "large.csv")
	writeContacts(t, path, n)

	in, err := prepare(path, 200)
	if err != nil {
		t.Fatal(err)
	}
	c := temporalClient(t)
	ctx := context.Background()
	first := e.startWorker()
	run, err := c.ExecuteWorkflow(ctx, workflows.ImportStartOptions(in), workflows.ImportContactsName, in)
	if err != nil {
		t.Fatal(err)
	}
	// Kill the worker once a few batches have committed, without letting it finish.
	waitFor(t, "the import to commit some batches", time.Minute, func() bool {
		return e.count("SELECT coalesce(max(row_count), 0) FROM import_checkpoints") >= 2000
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := e.count("SELECT max(row_count) FROM import_checkpoints")
	if killedAt >= n {
		t.Fatalf("the import finished (%d rows) before the worker was killed; make the file larger", killedAt)
	}
	e.startWorker()

	var sum workflows.ImportSummary
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := run.Get(ctx, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Rows != n || sum.Created != n || sum.Quarantined != 0 {
		t.Errorf("summary = %+v, want %d rows all created", sum, n)
	}
	if got := e.count("SELECT count(*) FROM contacts"); got != n {
		t.Errorf("contacts = %d, want exactly %d", got, n)
	}
	if got := e.count("SELECT count(DISTINCT email) FROM contacts"); got != n {
		t.Errorf("distinct emails = %d, want %d", got, n)
	}
	// The history shows the activity ran again on the new worker and resumed.
	attempts := 0
	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			attempts = int(a.GetAttempt())
		}
	}
	if attempts < 2 {
		t.Errorf("activity attempt = %d, want a retry after the kill", attempts)
	}
	t.Logf("killed at row %d of %d; resumed on attempt %d", killedAt, n, attempts)
}

func TestImportRefusesUnusableFiles(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	cases := map[string]struct {
		content string
		want    string
	}{
		"no-email.csv": {"name,city\nAda,Oslo\n", `has no email or phone column (found "name", "city")`},
		"empty.csv":    {"", "the file is empty"},
		"binary.bin":   {"\x00\x01\xff\xfe\x89PNG\r\n", "no email or phone column"},
		"broken.csv":   {"email,\"first\n", "not valid CSV"},
		"missing.csv":  {"", "cannot read"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if name != "missing.csv" {
				os.WriteFile(p, []byte(tc.content), 0o644)
			}
			out, err := e.cmd("starter", "import", p).CombinedOutput()
			if err == nil {
				t.Fatalf("import succeeded, want an error:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "panic") {
				t.Errorf("output:\n%s\nwant it to say %q", out, tc.want)
			}
		})
	}
	if got := e.count("SELECT count(*) FROM import_checkpoints"); got != 0 {
		t.Errorf("%d imports started, want none", got)
	}
}

func writeContacts(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "email,first_name,last_name,country,city")
	for i := range n {
		fmt.Fprintf(w, "person%06d@example.com,%s,%s,NO,Oslo\n", i, letters(i), letters(i*7))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func prepare(path string, batch int) (workflows.ImportInput, error) {
	sum, err := activities.FileSHA256(path)
	if err != nil {
		return workflows.ImportInput{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return workflows.ImportInput{}, err
	}
	return workflows.ImportInput{Path: path, SHA256: sum, Size: st.Size(), BatchSize: batch}, nil
}

// letters spells n in base 26 with letters, for names without digits.
func letters(n int) string {
	s := []byte{'A'}
	for n > 0 {
		s = append(s, byte('a'+n%26))
		n /= 26
	}
	return string(s)
}
