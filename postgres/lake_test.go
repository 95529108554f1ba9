package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/postgres"
)

func lakeLine(src kith.LakeSource, at time.Time, payload string) kith.LakeLine {
	return kith.LakeLine{ReceivedAt: at, Source: src, RequestID: "req", Verdict: kith.VerdictAccepted, Payload: json.RawMessage(payload)}
}

// TestSealedObjectsHoldOneSourceAndHourWithinBounds: objects take the oldest
// waiting segments of one source and hour, whole, as many as fit in maxLines
// and maxBytes of text (a first segment over the bounds alone); an object
// sealed but not uploaded is pending (a crashed upload's retry takes it with
// the same lines) until it is uploaded.
func TestSealedObjectsHoldOneSourceAndHourWithinBounds(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	h0 := time.Date(2026, 12, 1, 9, 10, 0, 0, time.UTC)
	line := func(i int) kith.LakeLine {
		return lakeLine(kith.LakeTracking, h0.Add(time.Duration(i)*time.Minute), fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", 90)))
	}
	for i := range 5 { // five calls: five segments of a line of about 210 bytes
		if err := s.SpoolLines(ctx, []kith.LakeLine{line(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// One call: one segment of three lines, then a form and the next hour.
	if err := s.SpoolLines(ctx, []kith.LakeLine{line(5), line(6), line(7),
		lakeLine(kith.LakeForms, h0, `{"form":1}`), lakeLine(kith.LakeTracking, h0.Add(time.Hour), `{"next":"hour"}`)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	var ns []int
	for {
		obj, ok, err := s.SealLakeObject(ctx, 3, 500)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if pending, err := s.PendingLakeObjects(ctx); err != nil || len(pending) != 1 || pending[0] != obj {
			t.Fatalf("pending %v (%v), want the sealed, unuploaded %v (a crashed upload's retry)", pending, err, obj)
		}
		var buf bytes.Buffer
		n, size, err := s.WriteLakeObject(ctx, obj.Name, &buf)
		if err != nil || size != int64(buf.Len()) {
			t.Fatalf("%s: %d bytes written, said %d: %v", obj.Name, buf.Len(), size, err)
		}
		data := buf.Bytes()
		ls, err := kith.DecodeLakeObject(data)
		if err != nil || len(ls) != n || n != obj.Lines {
			t.Fatalf("%s: %d lines decoded (%v), %d read, %d sealed", obj.Name, len(ls), err, n, obj.Lines)
		}
		for _, l := range ls {
			if l.Source != obj.Source || !l.ReceivedAt.Truncate(time.Hour).Equal(obj.Hour) {
				t.Errorf("%s holds a %s line of %s", obj.Name, l.Source, l.ReceivedAt)
			}
			var p struct{ N int }
			json.Unmarshal(l.Payload, &p)
			ns = append(ns, p.N)
		}
		got = append(got, fmt.Sprintf("%s:%d", obj.Name[:strings.LastIndex(obj.Name, "/")], len(ls)))
		if err := s.LakeObjectUploaded(ctx, obj.Name, n, int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{ // oldest hour first; two lines of ~210 bytes fit in 500, not three; segments stay whole
		"raw/forms/dt=2026-12-01/hr=09:1",
		"raw/tracking/dt=2026-12-01/hr=09:2", "raw/tracking/dt=2026-12-01/hr=09:2", "raw/tracking/dt=2026-12-01/hr=09:1",
		"raw/tracking/dt=2026-12-01/hr=09:3",
		"raw/tracking/dt=2026-12-01/hr=10:1",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects %v\nwant    %v", got, want)
	}
	if fmt.Sprint(ns) != "[0 0 1 2 3 4 5 6 7 0]" { // the form's and the next hour's payloads have no n
		t.Errorf("lines in order %v", ns)
	}
	if n, err := s.TrimLakeSpool(ctx, time.Now().Add(time.Minute)); err != nil || n != 10 {
		t.Errorf("trimmed %d, %v; want the 10 archived lines", n, err)
	}
}

// TestSpoolKeepsARetriedLineOnceAndNothingOfAnErasedPerson: a line written
// again under its SpoolKey (a retried batch) is one line; once a person is
// erased, lines naming them are not spooled.
func TestSpoolKeepsARetriedLineOnceAndNothingOfAnErasedPerson(t *testing.T) {
	s := newStore(t)
	hasher := kith.IdentityHasher{Keys: [][]byte{[]byte("a test key of at least thirty-two bytes")}}
	s.UseIdentityHasher(hasher)
	ctx := context.Background()
	l := lakeLine(kith.LakeImport, time.Now(), `{"record":{"email":"Gone@Example.com"}}`)
	l.SpoolKey = "import-1/row:1"
	for range 2 {
		if err := s.SpoolLines(ctx, []kith.LakeLine{l}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	s.DB().Get(&n, `SELECT count(*) FROM lake_spool`)
	if n != 1 {
		t.Fatalf("%d lines after a retry, want 1", n)
	}
	if _, err := s.DB().Exec(`INSERT INTO lake_erasures (contact_id, key) VALUES (gen_random_uuid(), $1)`,
		hasher.AllLakeKeys([]string{"gone@example.com"})[0]); err != nil {
		t.Fatal(err)
	}
	other := lakeLine(kith.LakeForms, time.Now(), `{"fields":{"email":"stays@example.com"}}`)
	back := lakeLine(kith.LakeForms, time.Now(), `{"fields":{"email":"GONE@example.com"}}`)
	if err := s.SpoolLines(ctx, []kith.LakeLine{other, back}); err != nil {
		t.Fatal(err)
	}
	forms, err := s.SpooledLines(ctx, kith.LakeForms)
	if err != nil || len(forms) != 1 || !strings.Contains(string(forms[0].Payload), "stays@") {
		t.Errorf("spooled after the erasure: %v, %v", forms, err)
	}
}

// TestErasureRewritesTheSpoolsSegmentsWithoutThePerson: a segment holding
// the erased person's lines beside others' is written again with the others'
// lines only; a segment of only theirs is gone.
func TestErasureRewritesTheSpoolsSegmentsWithoutThePerson(t *testing.T) {
	s, id := storeWithGrace(t)
	ctx := context.Background()
	at := time.Now().UTC()
	mixed := []kith.LakeLine{
		lakeLine(kith.LakeForms, at, `{"fields":{"email":"ada@example.com"}}`),
		lakeLine(kith.LakeForms, at, `{"fields":{"email":"Grace@Example.com"}}`),
		lakeLine(kith.LakeForms, at, `{"fields":{"email":"bob@example.com"}}`),
	}
	if err := s.SpoolLines(ctx, mixed); err != nil {
		t.Fatal(err)
	}
	if err := s.SpoolLines(ctx, []kith.LakeLine{lakeLine(kith.LakeTracking, at, `{"userId":"u1","traits":{"email":"grace@example.com"}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginErasure(ctx, id, "test"); err != nil {
		t.Fatal(err)
	}
	step, err := s.ErasePostgres(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if step.Removed["lake_spool"] != 2 {
		t.Errorf("the receipt counts %d spooled lines removed, want 2", step.Removed["lake_spool"])
	}
	forms, err := s.SpooledLines(ctx, kith.LakeForms)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, l := range forms {
		left = append(left, string(l.Payload))
	}
	if fmt.Sprint(left) != `[{"fields":{"email":"ada@example.com"}} {"fields":{"email":"bob@example.com"}}]` {
		t.Errorf("the forms segment holds %v", left)
	}
	var segments int
	s.DB().Get(&segments, `SELECT count(*) FROM lake_spool WHERE source = 'tracking'`)
	if segments != 0 {
		t.Errorf("a segment of only the erased person's lines is left")
	}
}

// TestLinesSpooledBeforeSegmentsAreArchivedAsTheyWere: a deployment upgraded
// with lines in its spool (a row per line, migration 0022) and an object
// sealed but not uploaded archives them as the line encoder writes them,
// keeps their retry names, and spools new lines after them.
func TestLinesSpooledBeforeSegmentsAreArchivedAsTheyWere(t *testing.T) {
	ctx := context.Background()
	url, err := postgres.CreateDatabase(ctx, devstack.Require(t, stack).Postgres.URL, fmt.Sprintf("test_%d_lake_upgrade", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := postgres.MigrateThrough(ctx, s, 22); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 9, 30, 0, 123456000, time.UTC)
	old := []kith.LakeLine{
		{ReceivedAt: at, Source: kith.LakeForms, RequestID: "r1", Ref: "POST /v1/forms/f", Verdict: kith.VerdictQuarantined,
			Codes: []string{"invalid_email", "required"}, Payload: json.RawMessage(`{"fields":{"email":"ada@","note":"Grüße \"quoted\" <b>"}}`)},
		{ReceivedAt: at.Add(time.Second), Source: kith.LakeForms, RequestID: "r2", Verdict: kith.VerdictAccepted,
			Counts: map[string]int{"accepted": 2, "duplicate": 1}, Payload: json.RawMessage(`"a form post"`)},
		{ReceivedAt: at.Add(2 * time.Second), Source: kith.LakeForms, RequestID: "r3", Verdict: kith.VerdictAccepted, Payload: json.RawMessage(`{"third":true}`)},
		{ReceivedAt: at, Source: kith.LakeImport, RequestID: "imp-1", Ref: "imp-1:row:1", Verdict: kith.VerdictAccepted,
			Payload: json.RawMessage(`{"record":{"email":"bob@example.com"}}`), SpoolKey: "imp-1/imp-1:row:1"},
	}
	for _, l := range old {
		counts := sql.NullString{}
		if l.Counts != nil {
			b, _ := json.Marshal(l.Counts)
			counts = sql.NullString{String: string(b), Valid: true}
		}
		if _, err := s.DB().Exec(`INSERT INTO lake_spool (source, received_at, hour, request_id, ref, verdict, codes, counts, payload, dedup_key)
			VALUES ($1, $2, date_trunc('hour', $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', $3, $4, $5, $6, $7::jsonb, $8, NULLIF($9, ''))`,
			l.Source, l.ReceivedAt, l.RequestID, l.Ref, l.Verdict, pq.Array(append([]string{}, l.Codes...)), counts, string(l.Payload), l.SpoolKey); err != nil {
			t.Fatal(err)
		}
	}
	// The old archiver sealed the first two form lines and stopped before uploading.
	hour := at.Truncate(time.Hour)
	sealed := kith.LakeObjectName(kith.LakeForms, hour, 1)
	s.DB().MustExec(`INSERT INTO lake_partitions (source, hour, sealed_to) VALUES ('forms', $1, 2), ('import', $1, 0)`, hour)
	s.DB().MustExec(`UPDATE lake_cursor SET scanned = 4`)
	s.DB().MustExec(`INSERT INTO lake_objects (name, source, hour, first_id, last_id, lines) VALUES ($1, 'forms', $2, 1, 2, 2)`, sealed, hour)

	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range old {
		old[i].SpoolKey = ""
	}
	same := func(what string, got, want []kith.LakeLine) {
		t.Helper()
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("%s:\n got %s\nwant %s", what, a, b)
		}
	}
	pending, err := s.PendingLakeObjects(ctx)
	if err != nil || len(pending) != 1 || pending[0].Name != sealed {
		t.Fatalf("pending %v %v, want %s", pending, err, sealed)
	}
	var buf bytes.Buffer
	n, _, err := s.WriteLakeObject(ctx, sealed, &buf)
	if err != nil || n != 2 {
		t.Fatalf("the pending object: %d lines, %v", n, err)
	}
	data := buf.Bytes()
	got, err := kith.DecodeLakeObject(data)
	if err != nil {
		t.Fatal(err)
	}
	same("the object sealed before the upgrade", got, old[:2])
	if err := s.LakeObjectUploaded(ctx, sealed, n, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	again := old[3]
	again.SpoolKey = "imp-1/imp-1:row:1" // the retried batch of before the upgrade
	if err := s.SpoolLines(ctx, []kith.LakeLine{again, {ReceivedAt: at, Source: kith.LakeForms, RequestID: "r4", Verdict: kith.VerdictAccepted, Payload: json.RawMessage(`{"after":1}`)}}); err != nil {
		t.Fatal(err)
	}
	forms, err := s.SpooledLines(ctx, kith.LakeForms)
	if err != nil {
		t.Fatal(err)
	}
	same("forms in the spool", forms, append(slices.Clone(old[:3]), kith.LakeLine{ReceivedAt: at, Source: kith.LakeForms, RequestID: "r4", Verdict: kith.VerdictAccepted, Payload: json.RawMessage(`{"after":1}`)}))
	imports, err := s.SpooledLines(ctx, kith.LakeImport)
	if err != nil {
		t.Fatal(err)
	}
	same("imports in the spool (the retry a no-op)", imports, old[3:])
	obj, ok, err := s.SealLakeObject(ctx, 100, 1<<20)
	if err != nil || !ok || obj.Source != kith.LakeForms || obj.Lines != 2 {
		t.Fatalf("next object %+v %v %v, want the forms partition's last two lines", obj, ok, err)
	}
}

// TestErasureFindsArchivedObjectsBeforeAndAfterTheSpoolIsTrimmed: an
// object's identifier index is written when its segments leave the spool;
// an erasure finds the objects naming the person either way: one whose
// segments were trimmed (through its index) and one whose segments are still
// spooled (indexed by the erasure before it rewrites them).
func TestErasureFindsArchivedObjectsBeforeAndAfterTheSpoolIsTrimmed(t *testing.T) {
	s, id := storeWithGrace(t)
	ctx := context.Background()
	at := time.Now().UTC()
	archive := func(payload string) string {
		t.Helper()
		if err := s.SpoolLines(ctx, []kith.LakeLine{lakeLine(kith.LakeForms, at, payload)}); err != nil {
			t.Fatal(err)
		}
		obj, ok, err := s.SealLakeObject(ctx, 1, 1<<20)
		if err != nil || !ok {
			t.Fatalf("seal: %v %v", ok, err)
		}
		if err := s.LakeObjectUploaded(ctx, obj.Name, 1, 1); err != nil {
			t.Fatal(err)
		}
		return obj.Name
	}
	trimmed := archive(`{"fields":{"email":"grace@example.com"}}`)
	archive(`{"fields":{"email":"ada@example.com"}}`)
	if n, err := s.TrimLakeSpool(ctx, time.Now().Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("trimmed %d, %v", n, err)
	}
	spooled := archive(`{"fields":{"email":"Grace@Example.com","note":"again"}}`)
	if _, err := s.BeginErasure(ctx, id, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ErasePostgres(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, objects, err := s.LakeErasure(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{trimmed, spooled}; fmt.Sprint(objects) != fmt.Sprint(want) {
		t.Errorf("the erasure finds %v, want %v", objects, want)
	}
}

// storeWithGrace is a store with a hash key and one contact, Grace
// (grace@example.com), to erase.
func storeWithGrace(t *testing.T) (*postgres.Store, string) {
	t.Helper()
	s := newStore(t)
	s.UseIdentityHasher(kith.IdentityHasher{Keys: [][]byte{[]byte("a test key of at least thirty-two bytes")}})
	ctx := context.Background()
	if _, err := s.UpsertContacts(ctx, []kith.ContactInput{input(time.Now().UTC(), kith.SourceForm, "email", "grace@example.com", "first_name", "Grace")}); err != nil {
		t.Fatal(err)
	}
	id, err := s.ContactIDByEmail(ctx, "grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return s, id
}
