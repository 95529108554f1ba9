package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/workflows"
)

// fakeDeliveries is an in-memory kith.DeliveryStore with the PostgreSQL one's
// once-only rule (a delivery id is written once) and an ESP that records what
// it was asked to send, failing the first failFirst calls with a 500.
type fakeDeliveries struct {
	mu        sync.Mutex
	rows      map[string]kith.DeliveryRecord
	order     []string
	sent      []kith.Message
	calls     int
	failFirst int
	// retryAfter is what the failing answers ask to wait (a 429 when set).
	retryAfter time.Duration
	// consented is whether the store's consent check at send time passes.
	consented bool
}

func newFakeDeliveries() *fakeDeliveries {
	return &fakeDeliveries{rows: map[string]kith.DeliveryRecord{}, consented: true}
}

func (f *fakeDeliveries) BeginDelivery(_ context.Context, d kith.Delivery) (kith.DeliveryRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.rows[d.ID]; ok {
		return r, nil
	}
	r := kith.DeliveryRecord{Delivery: d, To: "ada@example.com", Profile: map[kith.Field]kith.Value{
		kith.FieldEmail: {Value: "ada@example.com"}, kith.FieldFirstName: {Value: "Ada"}, kith.FieldPhone: {Value: "+4741234567"}}}
	if r.Status == kith.DeliverySending && !f.consented {
		r.Status, r.Reason = kith.DeliverySuppressed, "consent "+d.Purpose+" not given"
	}
	f.rows[d.ID] = r
	f.order = append(f.order, d.ID)
	return r, nil
}

func (f *fakeDeliveries) CompleteDelivery(_ context.Context, id, provider string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rows[id]
	r.Status, r.ProviderMessageID = kith.DeliveryAccepted, provider
	f.rows[id] = r
	return nil
}

func (f *fakeDeliveries) FailDelivery(_ context.Context, id, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rows[id]
	r.Status, r.LastError = kith.DeliveryFailed, reason
	f.rows[id] = r
	return nil
}

func (f *fakeDeliveries) RetryDelivery(context.Context, string, string) (kith.Delivery, error) {
	return kith.Delivery{}, fmt.Errorf("not used")
}

func (f *fakeDeliveries) ListDeliveries(context.Context, kith.DeliveryStatus, int) ([]kith.DeliveryRecord, error) {
	return nil, fmt.Errorf("not used")
}

func (f *fakeDeliveries) Send(_ context.Context, m kith.Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failFirst {
		if f.retryAfter > 0 {
			return "", &kith.APIError{Service: "ESP", Status: http.StatusTooManyRequests, Message: "slow down", RetryAfter: f.retryAfter}
		}
		return "", &kith.APIError{Service: "ESP", Status: http.StatusInternalServerError, Message: "try later"}
	}
	var wire kith.Message // as the ESP reads it
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &wire); err != nil {
		return "", err
	}
	f.sent = append(f.sent, wire)
	return fmt.Sprint("msg-", len(f.sent)), nil
}

// decisions are the deliveries recorded, in order, as "rule:status".
func (f *fakeDeliveries) decisions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, id := range f.order {
		out = append(out, f.rows[id].Rule+":"+string(f.rows[id].Status))
	}
	return out
}

// testTriggers: browse abandonment (an hour's wait, cancelled by Product
// Added, once a week) and an instant rule for the caps; quiet hours 21–08.
func testTriggers(dailyCap int) kith.Triggers {
	t := kith.Triggers{
		Rules: []kith.TriggerRule{
			{Name: "browse", Start: kith.EventMatch{Type: "Product Viewed"}, Wait: kith.Duration(time.Hour),
				CancelIf: []kith.EventMatch{{Type: "Product Added"}}, Conditions: kith.Conditions{Purpose: "email_marketing"},
				Reeligible: kith.Duration(7 * 24 * time.Hour), Template: "browse"},
			{Name: "instant", Start: kith.EventMatch{Type: "Ping"}, Conditions: kith.Conditions{Purpose: "email_marketing"}, Template: "instant"},
		},
		Version: fmt.Sprint("test-", dailyCap),
	}
	t.Policy.DailyCap = dailyCap
	t.Policy.QuietHours.Start, t.Policy.QuietHours.End = "21:00", "08:00"
	t.Policy.PurposeFields = map[string][]kith.Field{"email_marketing": {kith.FieldEmail, kith.FieldFirstName}}
	return t
}

func triggerEnv(t *testing.T, d *fakeDeliveries, tr kith.Triggers) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	workflows.UseTriggers(tr)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env, workflows.Activities{Contacts: &activities.Contacts{Store: newFakeProfiles(), PublicURL: "http://kith.test"},
		Matcher: &activities.Matcher{Store: lonely{}},
		Deliveries: &activities.Deliveries{Store: d, ESP: d, PurposeFields: tr.Policy.PurposeFields,
			Links: kith.Signer{Key: []byte("a test key of at least thirty-two bytes")}, PublicURL: "http://kith.test"}})
	return env
}

// subscriber is a contact who granted email marketing, in zone.
func subscriber(zone string) *workflows.ContactState {
	return &workflows.ContactState{
		Fields:   map[kith.Field]kith.Value{kith.FieldEmail: {Value: "ada@example.com"}},
		Consents: map[string]kith.ConsentRecord{"email_marketing": {Purpose: "email_marketing", Status: kith.ConsentGranted, At: t0.Add(-time.Hour)}},
		TimeZone: zone,
	}
}

func event(id, typ string) workflows.EventSignal {
	return workflows.EventSignal{EventID: id, Type: typ, At: t0}
}

func signalAt(env *testsuite.TestWorkflowEnvironment, after time.Duration, e workflows.EventSignal) {
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalEvent, e) }, after)
}

func outcomes(v workflows.ContactView) []string {
	var out []string
	if v.Triggers != nil {
		for _, o := range v.Triggers.Outcomes {
			out = append(out, o.Rule+":"+o.Status)
		}
	}
	return out
}

// TestBrowseAbandonmentWaitsFiresOnceAndIsNotReeligible: the message goes an
// hour after the first view, once, with the triggering events; a view during
// the wait joins it; a view within the week after starts nothing.
func TestBrowseAbandonmentWaitsFiresOnceAndIsNotReeligible(t *testing.T) {
	d := newFakeDeliveries()
	env := triggerEnv(t, d, testTriggers(5))
	env.SetStartTime(t0) // 12:00 UTC
	var waiting, after workflows.ContactView
	signalAt(env, 0, event("v1", "Product Viewed"))
	signalAt(env, 10*time.Minute, event("v2", "Product Viewed"))
	env.RegisterDelayedCallback(func() { waiting = query(t, env) }, 30*time.Minute)
	signalAt(env, 2*time.Hour, event("v3", "Product Viewed"))
	env.RegisterDelayedCallback(func() { after = query(t, env); env.CancelWorkflow() }, 5*time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("UTC")})

	if waiting.Triggers == nil || len(waiting.Triggers.Pending) != 1 || !waiting.Triggers.Pending[0].DueAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("during the wait: %+v, want one browse trigger due an hour after the first view", waiting.Triggers)
	}
	if got := d.decisions(); !slices.Equal(got, []string{"browse:accepted"}) {
		t.Errorf("deliveries %v, want one accepted browse message", got)
	}
	if len(d.sent) != 1 || len(d.sent[0].Data["events"].([]any)) != 2 {
		t.Fatalf("sent %+v, want one message carrying both views", d.sent)
	}
	if fields := d.sent[0].Data["contact"].(map[string]any); len(fields) != 2 || fields["first_name"] != "Ada" || fields["phone"] != nil {
		t.Errorf("payload fields %v: exactly the purpose's fields (email, first_name) may leave, not the phone", fields)
	}
	if len(after.Triggers.Pending) != 0 || !slices.Equal(outcomes(after), []string{"browse:accepted"}) {
		t.Errorf("after: pending %+v, outcomes %v; want nothing pending (not re-eligible for a week)", after.Triggers.Pending, outcomes(after))
	}
}

// TestCancelIfAndWithdrawalEndTheWait: Product Added cancels browse
// abandonment; a consent withdrawal cancels a pending trigger at once; a
// contact without consent gets nothing, recorded as suppressed.
func TestCancelIfAndWithdrawalEndTheWait(t *testing.T) {
	d := newFakeDeliveries()
	env := triggerEnv(t, d, testTriggers(5))
	env.SetStartTime(t0)
	var view workflows.ContactView
	signalAt(env, 0, event("v1", "Product Viewed"))
	signalAt(env, 30*time.Minute, event("a1", "Product Added"))
	env.RegisterDelayedCallback(func() { view = query(t, env); env.CancelWorkflow() }, 3*time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("UTC")})
	if len(d.decisions()) != 0 || !slices.Equal(outcomes(view), []string{"browse:cancelled"}) {
		t.Errorf("deliveries %v, outcomes %v; want none and a cancelled browse trigger", d.decisions(), outcomes(view))
	}

	env = triggerEnv(t, d, testTriggers(5))
	env.SetStartTime(t0)
	signalAt(env, 0, event("v2", "Product Viewed"))
	env.RegisterDelayedCallback(func() {
		update(t, env, workflows.UpdateConsent, workflows.ConsentChange{Record: kith.ConsentRecord{Purpose: "email_marketing",
			Status: kith.ConsentWithdrawn, Source: kith.SourceForm, SourceRef: "unsub-1", At: t0.Add(20 * time.Minute)}})
	}, 20*time.Minute)
	env.RegisterDelayedCallback(func() { view = query(t, env) }, 21*time.Minute)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 3*time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("UTC")})
	if len(view.Triggers.Pending) != 0 || len(d.decisions()) != 0 {
		t.Errorf("a minute after the withdrawal: pending %+v, deliveries %v; want it cancelled at once", view.Triggers.Pending, d.decisions())
	}

	// An archive (the Cleaning tells the workflow) cancels every pending trigger.
	env = triggerEnv(t, d, testTriggers(5))
	env.SetStartTime(t0)
	signalAt(env, 0, event("v4", "Product Viewed"))
	signalAt(env, 10*time.Minute, event("archived/1", activities.ContactArchived))
	env.RegisterDelayedCallback(func() { view = query(t, env); env.CancelWorkflow() }, 3*time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("UTC")})
	if len(view.Triggers.Pending) != 0 || len(d.decisions()) != 0 || !slices.Contains(outcomes(view), "browse:cancelled") {
		t.Errorf("after an archive: pending %+v, deliveries %v, outcomes %v; want it cancelled", view.Triggers.Pending, d.decisions(), outcomes(view))
	}

	// Consent unknown to the workflow is the store's to decide at send time.
	d.consented = false
	env = triggerEnv(t, d, testTriggers(5))
	env.SetStartTime(t0)
	signalAt(env, 0, event("v3", "Product Viewed"))
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 3*time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID})
	if got := d.decisions(); !slices.Equal(got, []string{"browse:suppressed"}) || len(d.sent) != 0 {
		t.Errorf("without consent: deliveries %v, sent %d; want one suppressed and nothing sent", got, len(d.sent))
	}
}

// TestDailyCapCountsTheContactsDay: a cap of 2 per local day in New York. The
// third message at 19:05 local is capped although UTC has passed midnight; the
// next local morning it sends again.
func TestDailyCapCountsTheContactsDay(t *testing.T) {
	d := newFakeDeliveries()
	env := triggerEnv(t, d, testTriggers(2))
	ny, _ := time.LoadLocation("America/New_York")
	start := time.Date(2026, 11, 27, 18, 50, 0, 0, ny) // 23:50 UTC
	env.SetStartTime(start)
	signalAt(env, 0, event("p1", "Ping"))
	signalAt(env, 5*time.Minute, event("p2", "Ping"))
	signalAt(env, 15*time.Minute, event("p3", "Ping"))              // 19:05 local, 00:05 UTC the next day
	signalAt(env, 14*time.Hour+15*time.Minute, event("p4", "Ping")) // 09:05 local the next day
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 15*time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("America/New_York")})
	want := []string{"instant:accepted", "instant:accepted", "instant:capped", "instant:accepted"}
	if got := d.decisions(); !slices.Equal(got, want) {
		t.Errorf("deliveries %v, want %v", got, want)
	}
}

// TestQuietHoursHoldUntilMorning: due at 21:30 in Paris, the message waits
// until 08:00 Paris time.
func TestQuietHoursHoldUntilMorning(t *testing.T) {
	d := newFakeDeliveries()
	env := triggerEnv(t, d, testTriggers(5))
	paris, _ := time.LoadLocation("Europe/Paris")
	start := time.Date(2026, 11, 27, 20, 30, 0, 0, paris)
	env.SetStartTime(start)
	var night, morning workflows.ContactView
	signalAt(env, 0, event("v1", "Product Viewed"))
	env.RegisterDelayedCallback(func() { night = query(t, env) }, 3*time.Hour)
	env.RegisterDelayedCallback(func() { morning = query(t, env); env.CancelWorkflow() }, 12*time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("Europe/Paris")})
	wantAt := time.Date(2026, 11, 28, 8, 0, 0, 0, paris)
	if night.Triggers == nil || len(night.Triggers.Pending) != 1 || !night.Triggers.Pending[0].HeldUntil.Equal(wantAt) {
		t.Fatalf("at night: %+v, want the trigger held until 08:00 Paris", night.Triggers)
	}
	if o := morning.Triggers.Outcomes; len(o) != 1 || o[0].Status != "accepted" || !o[0].At.Equal(wantAt) {
		t.Errorf("in the morning: outcomes %+v, want one accepted at 08:00 Paris", o)
	}

	// A rule for any hour (a reply to the person's own action) is not held.
	tr := testTriggers(5)
	tr.Rules[1].AnyHour, tr.Version = true, "any-hour"
	env = triggerEnv(t, d, tr)
	env.SetStartTime(time.Date(2026, 11, 27, 23, 30, 0, 0, paris))
	var sent workflows.ContactView
	signalAt(env, 0, event("p1", "Ping"))
	env.RegisterDelayedCallback(func() { sent = query(t, env); env.CancelWorkflow() }, time.Minute)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("Europe/Paris")})
	if o := sent.Triggers.Outcomes; len(o) != 1 || o[0].Status != "accepted" {
		t.Errorf("an any-hour rule at 23:30: outcomes %+v, want it sent at once", o)
	}
}

// TestInstantRuleSendsWithoutAPendingState: a rule with no wait sends in the
// handler of the event that starts it; the search attributes never list it as
// pending (a pending state nobody could see is two visibility writes per
// triggered event); a run that begins with the event waiting writes them
// once, after handling it.
func TestInstantRuleSendsWithoutAPendingState(t *testing.T) {
	d := newFakeDeliveries()
	env := triggerEnv(t, d, testTriggers(5))
	env.SetStartTime(t0) // 12:00 UTC, outside quiet hours
	var upserts [][]string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		pending, _ := args.Get(0).(temporal.SearchAttributes).GetKeywordList(workflows.SearchPendingTriggers)
		upserts = append(upserts, pending)
	})
	signalAt(env, 0, event("p1", "Ping"))
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Minute)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("UTC")})
	if got := d.decisions(); !slices.Equal(got, []string{"instant:accepted"}) {
		t.Fatalf("deliveries %v, want the instant message sent", got)
	}
	if len(upserts) != 1 || len(upserts[0]) != 0 {
		t.Errorf("search attribute writes of pending triggers %q, want one, with none pending", upserts)
	}
}

// TestPendingTriggersSurviveContinueAsNew: a run that continues as new carries
// its pending trigger, and the next run fires it when due.
func TestPendingTriggersSurviveContinueAsNew(t *testing.T) {
	d := newFakeDeliveries()
	env := triggerEnv(t, d, testTriggers(5))
	env.SetStartTime(t0)
	signalAt(env, 0, event("v1", "Product Viewed"))
	signalAt(env, time.Minute, event("x1", "page_view"))
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("UTC"), MaxEventsInRun: 2})
	next := continued[workflows.ContactInput](t, env)
	if next.State.Triggers == nil || len(next.State.Triggers.Pending) != 1 || next.State.Triggers.Pending[0].Rule != "browse" {
		t.Fatalf("carried %+v, want the pending browse trigger", next.State.Triggers)
	}
	env = triggerEnv(t, d, testTriggers(5))
	env.SetStartTime(t0.Add(time.Minute))
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 2*time.Hour)
	next.MaxEventsInRun = 0
	env.ExecuteWorkflow(workflows.ContactLifecycleName, next)
	if got := d.decisions(); !slices.Equal(got, []string{"browse:accepted"}) {
		t.Errorf("deliveries %v, want the carried trigger sent once", got)
	}
}

// TestESPFailureThenSuccessSendsOnce: the ESP answers 500 twice, then 202: one
// delivery, accepted, one message sent.
func TestESPFailureThenSuccessSendsOnce(t *testing.T) {
	d := newFakeDeliveries()
	d.failFirst = 2
	env := triggerEnv(t, d, testTriggers(5))
	// Local activities' deadlines run on the real clock in the test
	// environment: start in the future (tomorrow at noon, outside quiet hours).
	env.SetStartTime(time.Now().UTC().Truncate(24 * time.Hour).Add(36 * time.Hour))
	signalAt(env, 0, event("p1", "Ping"))
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("UTC")})
	if got := d.decisions(); !slices.Equal(got, []string{"instant:accepted"}) || len(d.sent) != 1 || d.calls != 3 {
		t.Errorf("deliveries %v, %d sent in %d calls; want one accepted after three calls", got, len(d.sent), d.calls)
	}
}

// TestESPRetryAfterIsHonoured: a 429 asking for 20 minutes is retried after 20
// minutes, not on the default backoff.
func TestESPRetryAfterIsHonoured(t *testing.T) {
	d := newFakeDeliveries()
	d.failFirst, d.retryAfter = 1, 20*time.Minute
	env := triggerEnv(t, d, testTriggers(5))
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(36 * time.Hour) // local activities' deadlines run on the real clock
	env.SetStartTime(start)
	var view workflows.ContactView
	signalAt(env, 0, event("p1", "Ping"))
	env.RegisterDelayedCallback(func() { view = query(t, env); env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, State: subscriber("UTC")})
	o := view.Triggers.Outcomes
	if len(o) != 1 || o[0].Status != "accepted" || o[0].At.Sub(start) < 20*time.Minute || o[0].At.Sub(start) > 25*time.Minute {
		t.Errorf("outcomes %+v, want one accepted 20 minutes after the 429 (start %s)", o, start)
	}
}
