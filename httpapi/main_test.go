package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/crm"
	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/esp/espsim"
	"github.com/kithhq/kith/httpapi"
	"github.com/kithhq/kith/lake"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/schemas"
	"github.com/kithhq/kith/workflows"
)

var stack *devstack.Stack

// The events API's write keys in tests: a browser source and a trusted server one.
const (
	webWriteKey     = "web-write-key-0000001"
	backendWriteKey = "backend-write-key-01"
	adminKey        = "admin-key-for-tests-0001"
)

// testLinkKey signs links and hashes erased identities, as KITH_LINK_KEY does.
var testLinkKey = []byte("a test key of at least thirty-two bytes")

func TestMain(m *testing.M) {
	os.Exit(devstack.TestMain(m, devstack.Options{Postgres: true, Temporal: true, GCS: true}, &stack))
}

// kithEnv is the API served over HTTP with a worker, on a database of its own and
// the shared Temporal dev server.
type kithEnv struct {
	URL    string
	Sim    *crmsim.Sim // the CRM, as "hubspot" (and as "locked", with a wrong token)
	ESP    *espsim.Sim // the ESP triggered messages go through, and its event webhook
	Store  *postgres.Store
	Client client.Client
	API    *httpapi.Server
	// Service is the contact service the API runs on.
	Service *workflows.ContactService
	// Lake is the env's raw lake bucket (on fake-gcs-server); LakeActs its
	// activities, as the worker runs them.
	Lake     *lake.Bucket
	LakeActs *activities.Lake
	// Received are the POST bodies the API was sent (decompressed) and its
	// answers' statuses, in order: what the lake must hold.
	Received *receivedLog
}

// receivedLog records what the API received.
type receivedLog struct {
	mu   sync.Mutex
	reqs []receivedRequest
}

type receivedRequest struct {
	Path   string
	Body   []byte
	Status int
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (l *receivedLog) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.ServeHTTP(w, r)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	body := raw
	if r.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
			body, _ = io.ReadAll(zr)
		}
	}
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, r)
	l.mu.Lock()
	l.reqs = append(l.reqs, receivedRequest{Path: r.URL.Path, Body: body, Status: rec.status})
	l.mu.Unlock()
}

func (l *receivedLog) all() []receivedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// unsubscribeToken is the signed token of an unsubscribe link for the contact.
func (k *kithEnv) unsubscribeToken(contactID, purpose string) string {
	return k.API.Links.Sign(kith.Link{Kind: kith.LinkUnsubscribe, ContactID: contactID, Purpose: purpose, Expires: time.Now().Add(time.Hour)})
}

var dbSeq atomic.Int64

func newKith(t testing.TB, input workflows.ContactInput, clientOpts ...func(*client.Options)) *kithEnv {
	t.Helper()
	s := devstack.Require(t, stack)
	ctx := context.Background()
	store, err := postgres.CreateMigrated(ctx, s.Postgres.URL, fmt.Sprintf("api_%d_%d", os.Getpid(), dbSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	store.UseIdentityHasher(kith.IdentityHasher{Keys: [][]byte{testLinkKey}})
	co := client.Options{HostPort: s.Temporal.Address, Namespace: s.Temporal.Namespace, Logger: quietLogger{}}
	for _, o := range clientOpts {
		o(&co)
	}
	tc, err := client.DialContext(ctx, co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)

	var handler http.Handler
	received := &receivedLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.serve(handler, w, r)
	}))
	t.Cleanup(srv.Close)

	sim := crmsim.New("sim-token", "sim-secret", 50, 1)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	espSim := espsim.New("esp-sim-key")
	espSrv := httptest.NewServer(espSim)
	t.Cleanup(espSrv.Close)
	triggers := testTriggers(t)
	workflows.UseTriggers(triggers)

	forms, err := kith.LoadForms(schemas.Forms, quality.DefaultWeights.Of)
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := lake.Open(ctx, fmt.Sprintf("api-%d-%d", os.Getpid(), dbSeq.Load()), s.GCS.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	hasher := kith.IdentityHasher{Keys: [][]byte{testLinkKey}}
	crmActs := &activities.CRM{Store: store, Now: time.Now, Lake: store, Clients: map[string]kith.CRM{
		"hubspot": &crm.HubSpot{BaseURL: simSrv.URL, Token: "sim-token"},
		"locked":  &crm.HubSpot{BaseURL: simSrv.URL, Token: "revoked-token"},
	}}
	lakeActs := &activities.Lake{Store: store, Bucket: bucket, Hasher: hasher, Now: time.Now,
		Replay: &activities.Replayer{Store: store, CRM: crmActs}}
	opts := workflows.WorkerOptions()
	opts.WorkerStopTimeout = 0 // a test's end cancels what its worker still runs
	w := worker.New(tc, workflows.TaskQueue, opts)
	notifier := &workflows.ContactService{Client: tc, Input: input}
	workflows.Register(w, workflows.Activities{
		Import:      &activities.Import{Store: store},
		Contacts:    &activities.Contacts{Store: store, PublicURL: srv.URL, Notifier: notifier},
		Relay:       &activities.Relay{Store: store, Notifier: notifier},
		Personalize: &activities.Personalize{Store: store},
		Dedup:       &activities.Dedup{Store: store},
		Matcher:     &activities.Matcher{Store: store, Notifier: notifier},
		Deliveries: &activities.Deliveries{Store: store, Recommendations: store, ESP: &esp.SendGrid{BaseURL: espSrv.URL, APIKey: "esp-sim-key", From: "hello@shop.example"},
			PurposeFields: triggers.Policy.PurposeFields, Form: forms["profile"], Links: kith.Signer{Key: testLinkKey}, PublicURL: srv.URL, Now: time.Now},
		Privacy:   &activities.Privacy{Store: store, Temporal: tc, Namespace: s.Temporal.Namespace},
		Retention: &activities.Retention{Store: store, Events: testEventRetention, Now: time.Now},
		CRM:       crmActs,
		Lake:      lakeActs,
	})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	contacts := &workflows.ContactService{Client: tc, Profiles: store, Claims: store, Merges: store, Input: input, PublicURL: srv.URL, Now: time.Now}
	hook := httpapi.WebhookProvider{Secret: sim.Secret, Scheme: "hubspot-v3"}
	api := &httpapi.Server{
		Forms: forms, Store: store, Contacts: contacts, Syncs: contacts, PublicURL: srv.URL,
		Webhooks: map[string]httpapi.WebhookProvider{"hubspot": hook, "locked": hook},
		ESP:      &httpapi.ESPWebhook{Key: &espSim.Key.PublicKey, Suppressions: store},
		Links:    kith.Signer{Key: testLinkKey},
		Events:   &postgres.EventWriter{Log: store},
		Sources: []httpapi.EventSource{
			{Name: "web", KeySHA256: sha256.Sum256([]byte(webWriteKey))},
			{Name: "backend", KeySHA256: sha256.Sum256([]byte(backendWriteKey)), Trusted: true},
		},
		Realtime: httpapi.DefaultRealtime,
		Now:      time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RatePerIP: 1000, BurstPerIP: 1000,
		Privacy:  &workflows.PrivacyService{Client: tc, Store: store, Wait: time.Second},
		Admins:   []httpapi.AdminKey{{Name: "ops", KeySHA256: sha256.Sum256([]byte(adminKey))}},
		Erased:   store,
		Exports:  store,
		Reviews:  store,
		Replays:  &workflows.Deliveries{Client: tc, Store: store},
		Unmerges: contacts,
		Lake:     &postgres.SpoolWriter{Store: store},
	}
	handler = api.Handler()
	return &kithEnv{URL: srv.URL, Sim: sim, ESP: espSim, Store: store, Client: tc, API: api, Service: contacts, Lake: bucket, LakeActs: lakeActs, Received: received}
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// call sends a request and decodes the JSON answer into out (when not nil).
func (k *kithEnv) call(t *testing.T, method, path, contentType string, body []byte, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, k.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func (k *kithEnv) postJSON(t *testing.T, path string, body, out any) int {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return k.call(t, "POST", path, "application/json", b, out)
}

func (k *kithEnv) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := k.Store.DB().Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// eventually polls cond for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// eventuallyWithin is eventually with its own deadline, for work whose time
// grows with a busy machine (hundreds of signals through a workflow).
func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recordHistory writes the history of one workflow run as JSON into the directory
// KITH_RECORD_HISTORIES names, when it is set: that is how the replay tests'
// histories in workflows/testdata are made (see workflows/testdata/README.md).
func recordHistory(t *testing.T, k *kithEnv, workflowID, runID, name string) {
	t.Helper()
	dir := os.Getenv("KITH_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	var h historypb.History
	it := k.Client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testTriggers are the shipped rules with browse abandonment waiting seconds
// instead of an hour, so tests on the real server see it fire.
func testTriggers(t testing.TB) kith.Triggers {
	t.Helper()
	tr, err := kith.LoadTriggers(schemas.Triggers, schemas.Messaging)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tr.Rules {
		if tr.Rules[i].Name == "browse_abandonment" {
			tr.Rules[i].Wait = kith.Duration(3 * time.Second)
		}
	}
	tr.Policy.QuietHours.Start, tr.Policy.QuietHours.End = "00:00", "00:00" // none: tests run at any hour
	tr.Version += "-test"
	return tr
}
