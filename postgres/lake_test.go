package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kithhq/kith"
)

func lakeLine(src kith.LakeSource, at time.Time, payload string) kith.LakeLine {
	return kith.LakeLine{ReceivedAt: at, Source: src, RequestID: "req", Verdict: kith.VerdictAccepted, Payload: json.RawMessage(payload)}
}

// TestSealedObjectsHoldOneSourceAndHourWithinBounds: objects take the oldest
// waiting lines of one source and hour, at most maxLines and maxBytes of
// payload; an object sealed but not uploaded is handed out again with the
// same lines (a crashed upload's retry), and only uploading moves on.
func TestSealedObjectsHoldOneSourceAndHourWithinBounds(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	h0 := time.Date(2026, 12, 1, 9, 10, 0, 0, time.UTC)
	var lines []kith.LakeLine
	for i := range 5 {
		lines = append(lines, lakeLine(kith.LakeTracking, h0.Add(time.Duration(i)*time.Minute), fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", 90))))
	}
	lines = append(lines, lakeLine(kith.LakeForms, h0, `{"form":1}`), lakeLine(kith.LakeTracking, h0.Add(time.Hour), `{"next":"hour"}`))
	if err := s.SpoolLines(ctx, lines); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		obj, ok, err := s.SealLakeObject(ctx, 3, 250)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		again, _, _ := s.SealLakeObject(ctx, 3, 250)
		if again.Name != obj.Name {
			t.Fatalf("a sealed, unuploaded object %s was not handed out again (got %s)", obj.Name, again.Name)
		}
		ls, err := s.LakeObjectLines(ctx, obj.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Source != obj.Source || !l.ReceivedAt.Truncate(time.Hour).Equal(obj.Hour) {
				t.Errorf("%s holds a %s line of %s", obj.Name, l.Source, l.ReceivedAt)
			}
		}
		got = append(got, fmt.Sprintf("%s:%d", obj.Name[:strings.LastIndex(obj.Name, "/")], len(ls)))
		if err := s.LakeObjectUploaded(ctx, obj.Name, 1); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{ // oldest hour first; 2 lines of ~100 bytes fit in 250 bytes, not 3
		"raw/forms/dt=2026-12-01/hr=09:1",
		"raw/tracking/dt=2026-12-01/hr=09:2", "raw/tracking/dt=2026-12-01/hr=09:2", "raw/tracking/dt=2026-12-01/hr=09:1",
		"raw/tracking/dt=2026-12-01/hr=10:1",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects %v\nwant    %v", got, want)
	}
	if n, err := s.TrimLakeSpool(ctx, time.Now().Add(time.Minute)); err != nil || n != 7 {
		t.Errorf("trimmed %d, %v; want the 7 archived lines", n, err)
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
	var payloads []string
	s.DB().Select(&payloads, `SELECT payload FROM lake_spool WHERE source = 'forms'`)
	if len(payloads) != 1 || !strings.Contains(payloads[0], "stays@") {
		t.Errorf("spooled after the erasure: %v", payloads)
	}
}
