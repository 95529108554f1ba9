package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/esp/espsim"
	"github.com/kithhq/kith/lake"
	"github.com/kithhq/kith/workflows"
)

// archiveLake runs the LakeArchive workflow (as its schedule does) and
// returns what it did.
func (k *kithEnv) archiveLake(t *testing.T, maxLines int) workflows.LakeArchiveResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run, err := k.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("lake-archive-%s-%d", t.Name(), time.Now().UnixNano()), TaskQueue: workflows.TaskQueue,
	}, workflows.LakeArchiveName, workflows.LakeArchiveInput{Archive: activities.LakeArchiveInput{MaxLines: maxLines}})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.LakeArchiveResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("lake archive: %v", err)
	}
	return res
}

// lakeObjects reads every object of the env's bucket: name → lines.
func (k *kithEnv) lakeObjects(t *testing.T) map[string][]kith.LakeLine {
	t.Helper()
	objects, err := lake.ReadObjects(context.Background(), k.Lake, "raw/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]kith.LakeLine{}
	for _, o := range objects {
		out[o.Name] = o.Lines
	}
	return out
}

// lakeHolds says which of values (case-insensitive) any object's text holds.
func (k *kithEnv) lakeHolds(t *testing.T, values ...string) []string {
	t.Helper()
	var held []string
	for name, lines := range k.lakeObjects(t) {
		b, _ := json.Marshal(lines)
		for _, v := range values {
			if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(v))) {
				held = append(held, v+" in "+name)
			}
		}
	}
	return held
}

var objectName = regexp.MustCompile(`^raw/(tracking|forms|crm_webhook|crm_object|esp_webhook|import)/dt=(\d{4}-\d{2}-\d{2})/hr=(\d{2})/\d{20}\.ndjson\.gz$`)

// TestLakeKeepsEveryInboundPayload: a day of mixed traffic (events API calls,
// gzipped and plain, accepted, repeated and refused; form submissions good and
// bad; CRM webhook deliveries, one forged; an ESP event delivery) is archived
// into objects partitioned by source, day and hour whose lines are what the API
// received, each once, with the verdict it was answered with. What a sender
// without credentials sent is not kept; archiving again writes nothing new.
func TestLakeKeepsEveryInboundPayload(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	ctx := context.Background()
	tag := fmt.Sprintf("%06d", rand.IntN(1_000_000))

	batch, _ := json.Marshal(map[string]any{"batch": []map[string]any{
		{"type": "track", "event": "Product Viewed", "anonymousId": "anon-lake-" + tag, "messageId": "lake-1-" + tag, "properties": map[string]any{"sku": "SKU-1"}},
		{"type": "page", "name": "Home", "anonymousId": "anon-lake-" + tag, "messageId": "lake-2-" + tag},
		{"type": "identify", "userId": "user-lake-" + tag, "traits": map[string]any{"email": "lake." + tag + "@example.com"}, "messageId": "lake-3-" + tag},
	}})
	for i, gz := range []bool{true, false} { // the second is a retry: every message a duplicate
		if code, e := k.postEvents(t, "/v1/batch", backendWriteKey, batch, gz); code != 200 {
			t.Fatalf("batch %d: %d %+v", i, code, e.Error)
		}
	}
	if code, _ := k.postEvents(t, "/v1/track", webWriteKey, []byte(`{"event":"Product Viewed","messageId":"lake-bad-`+tag+`"}`), false); code != 400 {
		t.Fatalf("a track call without ids answered %d, want 400", code)
	}
	if code, _ := k.postEvents(t, "/v1/track", "not-a-write-key-000", []byte(`{"event":"x","anonymousId":"intruder"}`), false); code != 401 {
		t.Fatalf("a track call with a wrong key answered %d, want 401", code)
	}
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{
		"submission_id": "lake-sub-" + tag, "anonymous_id": "anon-lake-" + tag, "consents": consentsGiven,
		"fields": map[string]string{"email": "Lake.Form." + tag + "@Example.com", "first_name": "Ada"},
	}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	var refused errorResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{
		"submission_id": "lake-bad-" + tag, "consents": consentsGiven, "fields": map[string]string{"email": "lake@", "phone": "+47 12"},
	}, &refused); code != 422 {
		t.Fatalf("a bad submission answered %d, want 422", code)
	}
	deal := k.Sim.Objects("deals")[0]
	ev := nextEvent()
	if code := k.deliver(t, "hubspot", []crmsim.Event{{EventID: ev, SubscriptionType: "deal.creation", ObjectID: deal}}, time.Now(), false); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	if code := k.deliver(t, "hubspot", []crmsim.Event{{EventID: nextEvent(), SubscriptionType: "deal.creation", ObjectID: deal}}, time.Now(), true); code != 401 {
		t.Fatalf("a forged webhook answered %d, want 401", code)
	}
	if synced, err := k.syncResult(t, "hubspot", ev); err != nil || len(synced.ContactIDs) != 1 {
		t.Fatalf("sync: %+v, %v", synced, err)
	}
	sent := espsim.Sent{MessageID: "lake-msg-" + tag, To: "lake.esp." + tag + "@example.com", Args: map[string]string{esp.ArgDelivery: "lake-" + tag}}
	if code, err := k.ESP.SendEvents(ctx, k.URL+"/v1/webhooks/esp/sendgrid", k.ESP.Events(sent, time.Now(), "delivered", "open"), time.Now(), false); err != nil || code != 200 {
		t.Fatalf("ESP events: %d %v", code, err)
	}

	first := k.archiveLake(t, 2) // small objects: several per partition
	objects := k.lakeObjects(t)
	if first.Archived.Objects != len(objects) || first.Archived.Objects < 5 {
		t.Fatalf("archived %+v, %d objects in the bucket", first.Archived, len(objects))
	}
	bySource := map[kith.LakeSource][]kith.LakeLine{}
	for name, lines := range objects {
		m := objectName.FindStringSubmatch(name)
		if m == nil {
			t.Fatalf("object %s is not named raw/<source>/dt=YYYY-MM-DD/hr=HH/<id>.ndjson.gz", name)
		}
		if len(lines) == 0 || len(lines) > 2 {
			t.Errorf("%s holds %d lines, want 1 or 2", name, len(lines))
		}
		for _, l := range lines {
			at := l.ReceivedAt.UTC()
			if string(l.Source) != m[1] || at.Format(time.DateOnly) != m[2] || fmt.Sprintf("%02d", at.Hour()) != m[3] {
				t.Errorf("%s holds a line of %s received %s", name, l.Source, at)
			}
			bySource[l.Source] = append(bySource[l.Source], l)
		}
	}

	// Every request with credentials is one line whose payload is its body.
	routes := map[string]kith.LakeSource{"/v1/batch": kith.LakeTracking, "/v1/track": kith.LakeTracking,
		"/v1/forms/profile/submissions": kith.LakeForms, "/v1/webhooks/crm/hubspot": kith.LakeCRMWebhook, "/v1/webhooks/esp/sendgrid": kith.LakeESP}
	want := map[kith.LakeSource]int{}
	for _, r := range k.Received.all() {
		src, ok := routes[r.Path]
		if !ok || r.Status == 401 {
			continue
		}
		want[src]++
		found := 0
		for _, l := range bySource[src] {
			if jsonEqual(l.Payload, r.Body) {
				found++
			}
		}
		// The repeated batch is the same body twice: two lines.
		if same := countSame(k.Received.all(), r); found != same {
			t.Errorf("%s %s: %d lines hold its body, want %d", r.Path, r.Body, found, same)
		}
	}
	for src, n := range want {
		if len(bySource[src]) != n {
			t.Errorf("%s: %d lines, %d requests", src, len(bySource[src]), n)
		}
	}
	verdicts := map[string]int{}
	for _, src := range []kith.LakeSource{kith.LakeTracking, kith.LakeForms, kith.LakeCRMWebhook, kith.LakeESP} {
		for _, l := range bySource[src] {
			verdicts[string(src)+" "+l.Verdict+" "+strings.Join(l.Codes, ",")]++
			if l.RequestID == "" {
				t.Errorf("a %s line has no request id", src)
			}
		}
	}
	for _, v := range []string{"tracking accepted ", "tracking duplicate ", "tracking quarantined invalid,required", "forms accepted ",
		"crm_webhook accepted ", "esp_webhook accepted "} {
		if verdicts[v] != 1 {
			t.Errorf("%d lines %q; verdicts: %v", verdicts[v], v, verdicts)
		}
	}
	if !strings.HasPrefix(findVerdict(verdicts, "forms quarantined "), "forms quarantined invalid,") {
		t.Errorf("the bad submission's verdict: %v", verdicts)
	}
	// The objects the sync fetched, as it stored them.
	if len(bySource[kith.LakeCRMObject]) < 2 {
		t.Errorf("%d fetched CRM objects archived, want the deal and its contact", len(bySource[kith.LakeCRMObject]))
	}
	for _, l := range bySource[kith.LakeCRMObject] {
		var obj kith.CRMObject
		if err := json.Unmarshal(l.Payload, &obj); err != nil || obj.Provider != "hubspot" || obj.ID == "" {
			t.Errorf("a crm_object line: %s (%v)", l.Payload, err)
		}
	}
	if held := k.lakeHolds(t, "intruder", "not-a-write-key"); len(held) > 0 {
		t.Errorf("the lake keeps what an unauthenticated sender sent: %v", held)
	}

	again := k.archiveLake(t, 2)
	if again.Archived.Objects != 0 || len(k.lakeObjects(t)) != len(objects) {
		t.Errorf("archiving again wrote %+v", again.Archived)
	}
	if n := k.count(t, `SELECT (SELECT count(*) FROM lake_spool s JOIN lake_partitions p ON s.source = p.source AND s.hour = p.hour AND s.id > p.sealed_to)
		+ (SELECT count(*) FROM lake_spool WHERE id > (SELECT scanned FROM lake_cursor))
		+ (SELECT count(*) FROM lake_objects WHERE uploaded_at IS NULL)`); n != 0 {
		t.Errorf("%d lines or objects still wait", n)
	}
}

func findVerdict(verdicts map[string]int, prefix string) string {
	for v := range verdicts {
		if strings.HasPrefix(v, prefix) {
			return v
		}
	}
	return ""
}

func countSame(all []receivedRequest, r receivedRequest) int {
	n := 0
	for _, o := range all {
		if o.Path == r.Path && o.Status != 401 && bytes.Equal(o.Body, r.Body) {
			n++
		}
	}
	return n
}

// jsonEqual says whether a and b are the same JSON document (b as sent).
func jsonEqual(a json.RawMessage, b []byte) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return false
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}
