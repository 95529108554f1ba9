package kith_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/kithhq/kith"
)

func TestLakeObjectNameIsDeterministicAndPartitioned(t *testing.T) {
	at := time.Date(2026, 3, 9, 23, 59, 59, 0, time.FixedZone("CET", 3600))
	name := kith.LakeObjectName(kith.LakeTracking, at, 42)
	if want := "raw/tracking/dt=2026-03-09/hr=22/00000000000000000042.ndjson.gz"; name != want {
		t.Errorf("name %q, want %q (the UTC hour)", name, want)
	}
	if kith.LakeObjectName(kith.LakeTracking, at, 42) != name {
		t.Error("the same lines got another name")
	}
	if d, ok := kith.LakeObjectDay(name); !ok || d.Format(time.DateOnly) != "2026-03-09" {
		t.Errorf("day of %s: %v %v", name, d, ok)
	}
	if _, ok := kith.LakeObjectDay("raw/tracking/x.gz"); ok {
		t.Error("a name without dt= has a day")
	}
}

func TestRawPayloadKeepsJSONAsSentAndTextAsAString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"b": 1, "a": [1, 2], "b": 2}`, `{"b":1,"a":[1,2],"b":2}`}, // key order and repeated keys kept
		{`email=a%40b.example&x=1`, `"email=a%40b.example\u0026x=1"`},
		{"\xff\xfebroken", `{"base64":"//5icm9rZW4="}`}, // bytes no JSON string holds, kept
		{`{"x": "\u0000"}`, `{"x":"\u0000"}`},
	} {
		got := kith.RawPayload([]byte(tc.in))
		var want, have any
		json.Unmarshal([]byte(tc.want), &want)
		if json.Unmarshal(got, &have) != nil {
			t.Errorf("%q: not JSON: %s", tc.in, got)
			continue
		}
		if (tc.in[0] == '{' || tc.in[0] == 0xff) && string(got) != tc.want {
			t.Errorf("%q: %s, want %s", tc.in, got, tc.want)
		}
		if tc.in[0] != '{' && tc.in[0] != 0xff && have != want {
			t.Errorf("%q: %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestLakeIdentifiersFindThePersonInEverySourcesShape(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    []string
	}{
		{`{"fields":{"email":"Ada Lovelace <ADA@Example.COM>"}}`, []string{"ada@example.com"}},
		{`{"batch":[{"anonymousId":"anon-1","traits":{"email":"mailto:b@x.example"}},{"userId":42}]}`, []string{"b@x.example", "anon-1", "42"}},
		// The same, read by decoding (a \u escape): both readings agree.
		{`{"note":"\u0061","batch":[{"anonymousId":"anon-1","traits":{"email":"mailto:b@x.example"}},{"userId":42}]}`, []string{"b@x.example", "anon-1", "42"}},
		{`{"record":{"Phone":"+47 412 34 567","Email":"c@y.example"},"n":"\u0061"}`, []string{"c@y.example", "4741234567"}},
		{`{"record":{"Phone":"+47 412 34 567","Email":"c@y.example"}}`, []string{"c@y.example", "4741234567"}},
		{`{"record":{"phone":"12"}}`, nil},
		{`"not json: d@z.example"`, []string{"d@z.example"}},
		{"not json at all: e@z.example", []string{"e@z.example"}},
		{`{"page":{"url":"https://shop.example/?ref=ada@example.com&x=1"}}`, []string{"ada@example.com"}},
		{`{"record":{"email":"Ada.Lovelace\u200b@Example.com"},"note":"ping ada%40example.org"}`, []string{"ada.lovelace@example.com", "ada@example.org"}},
	} {
		got := kith.LakeIdentifiers([]byte(tc.payload))
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: %v lacks %q", tc.payload, got, w)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.payload, got, tc.want)
		}
	}
}

func TestLakeKeysMatchUnderEveryIdentityKey(t *testing.T) {
	old := kith.IdentityHasher{Keys: [][]byte{[]byte("the old key of at least thirty-two bytes")}}
	rotated := kith.IdentityHasher{Keys: [][]byte{[]byte("the new key of at least thirty-two bytes"), old.Keys[0]}}
	spooled := old.LakeKeys([]string{"ada@example.com"})
	if len(spooled) != 1 || !slices.Contains(rotated.AllLakeKeys([]string{"ada@example.com"}), spooled[0]) {
		t.Error("a line spooled under the old key is not found after the key rotated")
	}
	if slices.Contains(rotated.AllLakeKeys([]string{"bob@example.com"}), spooled[0]) {
		t.Error("another address has the same key")
	}
	if (kith.IdentityHasher{}).LakeKeys([]string{"x@y.example"}) != nil {
		t.Error("keys without a hashing key")
	}
}

func TestLakeObjectsRoundTrip(t *testing.T) {
	lines := []kith.LakeLine{
		{ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Source: kith.LakeForms, RequestID: "r1", Verdict: kith.VerdictQuarantined,
			Codes: []string{"invalid_email"}, Payload: json.RawMessage(`{"fields":{"email":"a@"}}`), SpoolKey: "not archived"},
		{ReceivedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), Source: kith.LakeForms, RequestID: "r2", Verdict: kith.VerdictAccepted,
			Counts: map[string]int{"accepted": 1}, Payload: json.RawMessage(`"<b>&</b>"`)},
	}
	data, err := kith.EncodeLakeObject(lines)
	if err != nil {
		t.Fatal(err)
	}
	got, err := kith.DecodeLakeObject(data)
	if err != nil {
		t.Fatal(err)
	}
	lines[0].SpoolKey = ""
	a, _ := json.Marshal(lines)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("round trip:\n%s\n%s", a, b)
	}
	if _, err := kith.DecodeLakeObject([]byte("plain")); err == nil {
		t.Error("a non-gzip object decoded")
	}
}
