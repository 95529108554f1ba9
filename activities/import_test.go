package activities_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
)

// memStore is an in-memory kith.ImportStore that can be told to fail a commit.
type memStore struct {
	mu         sync.Mutex
	cps        map[string]kith.ImportCheckpoint
	contacts   map[string]kith.ContactInput // by email
	quarantine map[string]kith.Quarantined  // by ref
	failAt     int                          // fail the commit with this number (1-based); 0 never
	commits    int
}

func newMemStore() *memStore {
	return &memStore{cps: map[string]kith.ImportCheckpoint{}, contacts: map[string]kith.ContactInput{}, quarantine: map[string]kith.Quarantined{}}
}

func (m *memStore) ImportCheckpoint(_ context.Context, id string) (kith.ImportCheckpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cps[id], nil
}

func (m *memStore) RefreshStatistics(context.Context) error { return nil }

func (m *memStore) CommitImportBatch(_ context.Context, b kith.ImportBatch) (kith.ImportCheckpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commits++
	cp := m.cps[b.ImportID]
	if m.commits == m.failAt {
		return cp, errors.New("connection reset")
	}
	if cp.Offset != b.From {
		return cp, kith.Errorf(kith.CodeConflict, "at %d, batch from %d", cp.Offset, b.From)
	}
	for _, c := range b.Contacts {
		e := c.Fields[kith.FieldEmail].Value
		if e == "" {
			e = "record:" + c.Key
		}
		if _, ok := m.contacts[e]; ok {
			cp.Unchanged++
		} else {
			cp.Created++
		}
		m.contacts[e] = c
	}
	for _, q := range b.Quarantine {
		m.quarantine[q.Ref] = q
	}
	cp.Offset, cp.Done, cp.Row = b.To, b.Done, cp.Row+b.Rows
	cp.Quarantined += len(b.Quarantine)
	cp.Skipped += b.Rows - len(b.Contacts)
	m.cps[b.ImportID] = cp
	return cp, nil
}

func writeFile(t *testing.T, content string) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := activities.FileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, sum
}

func runImport(t *testing.T, a *activities.Import, in activities.ImportFileInput) (kith.ImportCheckpoint, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.ImportFile, in)
	var cp kith.ImportCheckpoint
	if err == nil {
		err = v.Get(&cp)
	}
	return cp, err
}

const messy = "\ufeffEmail, First_Name ,country,favourite_colour\n" +
	"  ADA@Example.COM ,  Ada  ,gb,blue\n" +
	"bad-email,Bob,US,red\n" +
	"carol@example.com,Carol\n" +
	"d\"an@example.com,Dan,US,green\n" +
	"erin@example.com,\"Erin, Jr\",NO,\n" +
	"fay@example.com,F\xffay,SE,\n"

func TestImportFileStandardizesAndQuarantines(t *testing.T) {
	path, sum := writeFile(t, messy)
	store := newMemStore()
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	cp, err := runImport(t, &activities.Import{Store: store},
		activities.ImportFileInput{ImportID: "i1", Path: path, SHA256: sum, BatchSize: 2, AsOf: at})
	if err != nil {
		t.Fatal(err)
	}
	if want := (kith.ImportCheckpoint{Offset: int64(len(messy)), Row: 6, Created: 3, Quarantined: 4, Skipped: 3, Done: true}); cp != want {
		t.Errorf("checkpoint = %+v, want %+v", cp, want)
	}
	ada, ok := store.contacts["ada@example.com"]
	if !ok {
		t.Fatalf("ada not imported; got %v", store.contacts)
	}
	// Row 1 is observed 1µs after the file's as-of time: later rows win.
	if got := ada.Fields[kith.FieldFirstName]; got.Value != "Ada" || got.Source != kith.SourceImport || !got.At.Equal(at.Add(time.Microsecond)) {
		t.Errorf("ada first name = %+v", got)
	}
	if got := ada.Fields[kith.FieldCountry].Value; got != "GB" {
		t.Errorf("ada country = %q, want GB", got)
	}
	if got := store.contacts["erin@example.com"].Fields[kith.FieldFirstName].Value; got != "Erin, Jr" {
		t.Errorf("erin first name = %q", got)
	}
	wantCodes := map[string]string{"row:2": "no_email_address", "row:3": "wrong_field_count", "row:4": "malformed_csv", "row:6": "not_utf8"}
	for ref, code := range wantCodes {
		q, ok := store.quarantine[sum[:16]+":"+ref]
		if !ok {
			t.Errorf("%s not quarantined; have %v", ref, keys(store.quarantine))
			continue
		}
		if q.Violations[0].Code != code {
			t.Errorf("%s code = %s, want %s", ref, q.Violations[0].Code, code)
		}
		if len(q.Payload) == 0 || !strings.HasSuffix(string(q.Payload), "\n") {
			t.Errorf("%s payload = %q, want the raw line", ref, q.Payload)
		}
	}
	if got := string(store.quarantine[sum[:16]+":row:6"].Payload); got != "fay@example.com,F\xffay,SE,\n" {
		t.Errorf("junk row payload = %q, want it byte for byte", got)
	}
	// A refused value costs only itself: Fay is imported without her first name.
	if fay, ok := store.contacts["fay@example.com"]; !ok || fay.Fields[kith.FieldFirstName].Value != "" || fay.Fields[kith.FieldCountry].Value != "SE" {
		t.Errorf("fay = %+v, %v; want her imported without the undecodable first name", fay, ok)
	}
}

// A row without an email but with a phone becomes a contact known by its record
// key: the same row again (anywhere in the file, or in the file imported again)
// finds the same contact; a row with neither is quarantined whole.
func TestImportFileKeepsRowsWithoutEmail(t *testing.T) {
	const file = "email,phone,first_name,postal_code\n" +
		",020 7946 0004,Margaret,SW1A 1AA\n" +
		",,Nobody,\n" +
		",020 7946 0004,Margaret,SW1A 1AA\n" +
		",020 7946 0004,Maggie,SW1A 1AA\n"
	path, sum := writeFile(t, file)
	store := newMemStore()
	cp, err := runImport(t, &activities.Import{Store: store}, activities.ImportFileInput{ImportID: "i3", Path: path, SHA256: sum})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Created != 2 || cp.Unchanged != 1 || cp.Quarantined != 1 || cp.Skipped != 1 {
		t.Errorf("checkpoint = %+v, want 2 created, the repeat unchanged, 1 skipped", cp)
	}
	if q := store.quarantine[sum[:16]+":row:2"]; len(q.Violations) != 1 || q.Violations[0].Code != "no_identity" {
		t.Errorf("row 2 quarantine = %+v, want no_identity", q)
	}
	for k, c := range store.contacts {
		if !strings.HasPrefix(k, "record:") || len(k) != len("record:")+32 {
			t.Errorf("contact key %q, want a record key", k)
		}
		if p := c.Fields[kith.FieldPhone]; p.Value != "+442079460004" || p.Method != "region GB from postal code" {
			t.Errorf("phone = %+v, want +442079460004 read in GB from the postcode", p)
		}
	}
}

func TestImportFileResumesFromCheckpoint(t *testing.T) {
	var b strings.Builder
	b.WriteString("email\n")
	for i := range 25 {
		b.WriteString("p" + string(rune('a'+i)) + "@example.com\n")
	}
	path, sum := writeFile(t, b.String())
	store := newMemStore()
	store.failAt = 3 // the third commit fails, as if the database went away
	a := &activities.Import{Store: store}
	in := activities.ImportFileInput{ImportID: "i2", Path: path, SHA256: sum, BatchSize: 5}
	if _, err := runImport(t, a, in); err == nil {
		t.Fatal("first attempt succeeded, want the injected failure")
	}
	if cp := store.cps["i2"]; cp.Row != 10 {
		t.Fatalf("after failure checkpoint row = %d, want 10", cp.Row)
	}
	cp, err := runImport(t, a, in) // the retry
	if err != nil {
		t.Fatal(err)
	}
	if cp.Row != 25 || cp.Created != 25 || cp.Unchanged != 0 || !cp.Done {
		t.Errorf("after retry checkpoint = %+v, want 25 rows all created once", cp)
	}
	// A finished import is a no-op when run again.
	before := store.commits
	if _, err := runImport(t, a, in); err != nil || store.commits != before {
		t.Errorf("re-run of a done import committed %d batches, err %v", store.commits-before, err)
	}
}

func TestImportFileRefusesUnusableFiles(t *testing.T) {
	for name, content := range map[string]string{
		"no email column": "name,city\nx,y\n",
		"empty":           "",
		"binary":          "\x00\xff\xfe\x01",
	} {
		t.Run(name, func(t *testing.T) {
			path, sum := writeFile(t, content)
			_, err := runImport(t, &activities.Import{Store: newMemStore()}, activities.ImportFileInput{ImportID: "x", Path: path, SHA256: sum})
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != activities.ErrInvalidCSV || !ae.NonRetryable() {
				t.Fatalf("err = %v, want a non-retryable %s", err, activities.ErrInvalidCSV)
			}
		})
	}
	path, _ := writeFile(t, "email\na@example.com\n")
	_, err := runImport(t, &activities.Import{Store: newMemStore()}, activities.ImportFileInput{ImportID: "x", Path: path, SHA256: "0000"})
	if err == nil || !strings.Contains(err.Error(), "changed since the import started") {
		t.Errorf("changed file: err = %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// Spreadsheets and CRM exports name the columns their own way; the header reads
// the common names (spaces, dashes and case aside) and ignores the rest.
func TestReadHeaderReadsCommonColumnNames(t *testing.T) {
	h, err := activities.ReadHeader(strings.NewReader("E-mail,Phone Number,Given Name,Surname,Date of Birth,ZIP Code,Street Address,Favourite colour\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []kith.Field{kith.FieldEmail, kith.FieldPhone, kith.FieldFirstName, kith.FieldLastName, kith.FieldBirthDate,
		kith.FieldPostalCode, kith.FieldAddress, ""}
	if fmt.Sprint(h.Fields) != fmt.Sprint(want) || len(h.Ignored) != 1 || h.Ignored[0] != "Favourite colour" {
		t.Errorf("fields %v, ignored %v; want %v and the colour ignored", h.Fields, h.Ignored, want)
	}
	if _, err := activities.ReadHeader(strings.NewReader("email,E-Mail\n")); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("two email columns: err = %v", err)
	}
}
