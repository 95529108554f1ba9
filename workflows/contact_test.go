package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/workflows"
)

// fakeProfiles is an in-memory kith.ProfileStore with the same once-only rules as
// the PostgreSQL one.
type fakeProfiles struct {
	mu          sync.Mutex
	submissions map[string]bool
	fields      map[kith.Field]kith.Value
	consents    []kith.ConsentRecord
	consentRefs map[string]bool
	outbox      map[string]kith.OutboxMessage
	recordCalls int
}

func newFakeProfiles() *fakeProfiles {
	return &fakeProfiles{submissions: map[string]bool{}, fields: map[kith.Field]kith.Value{},
		consentRefs: map[string]bool{}, outbox: map[string]kith.OutboxMessage{}}
}

func (f *fakeProfiles) ResolveContact(context.Context, []kith.Identity, string, kith.Source) (string, error) {
	return "", errors.New("not used")
}
func (f *fakeProfiles) ContactIDFor(context.Context, kith.Identity) (string, error) {
	return "", errors.New("not used")
}
func (f *fakeProfiles) LinkIdentity(context.Context, string, kith.Identity, kith.Source) error {
	return errors.New("not used")
}
func (f *fakeProfiles) Contact(_ context.Context, id string) (kith.Contact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return kith.Contact{ID: id, Fields: maps.Clone(f.fields)}, nil
}

func (f *fakeProfiles) Consents(context.Context, string) (map[string]kith.ConsentRecord, error) {
	return nil, errors.New("not used")
}

func (f *fakeProfiles) RecordSubmission(_ context.Context, s kith.Submission) (kith.Contact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recordCalls++
	c := kith.Contact{ID: s.ContactID, Fields: maps.Clone(f.fields)}
	if !f.submissions[s.SubmissionID] {
		f.submissions[s.SubmissionID] = true
		c.Merge(s.Fields)
		f.fields = maps.Clone(c.Fields)
		for _, cr := range s.Consents {
			f.addConsent(cr)
		}
	}
	return c, nil
}

func (f *fakeProfiles) addConsent(cr kith.ConsentRecord) {
	if key := cr.Purpose + "/" + cr.SourceRef; !f.consentRefs[key] {
		f.consentRefs[key] = true
		f.consents = append(f.consents, cr)
	}
}

func (f *fakeProfiles) RecordConsent(_ context.Context, _ string, cr kith.ConsentRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addConsent(cr)
	return nil
}

func (f *fakeProfiles) Enqueue(_ context.Context, m kith.OutboxMessage) (kith.OutboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.outbox[m.ID]; ok {
		return old, nil
	}
	f.outbox[m.ID] = m
	return m, nil
}

func (f *fakeProfiles) statuses(purpose string) []kith.ConsentStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []kith.ConsentStatus
	for _, c := range f.consents {
		if c.Purpose == purpose {
			out = append(out, c.Status)
		}
	}
	return out
}

const contactID = "0b7a3c1e-0000-4000-8000-000000000001"

func contactEnv(t *testing.T, store *fakeProfiles) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env, workflows.Activities{Import: &activities.Import{}, Contacts: &activities.Contacts{Store: store, PublicURL: "http://kith.test"},
		Matcher: &activities.Matcher{Store: lonely{}}})
	return env
}

// lonely is a match store in which no contact has a candidate.
type lonely struct{ kith.MergeStore }

func (lonely) MatchCandidates(context.Context, string, int) (kith.MatchCandidates, error) {
	return kith.MatchCandidates{Status: "active"}, nil
}

func (lonely) MatchModel(context.Context, int64) (kith.MatchModel, bool, error) {
	return kith.MatchModel{}, false, nil
}

func (lonely) FoldIntoSurvivor(context.Context, string, func(kith.Contact, kith.Contact) map[kith.Field]kith.Value) (string, error) {
	return "", nil
}

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func marketingSubmission(id string) workflows.SubmitRequest {
	prov := kith.Provenance{Source: kith.SourceForm, Ref: id, At: t0}
	return workflows.SubmitRequest{
		Submission: kith.Submission{
			SubmissionID: id, Form: "profile", ContactID: contactID, ReceivedAt: t0,
			Fields: map[kith.Field]kith.Value{"email": {Value: "ada@example.com", Provenance: prov}},
			Consents: []kith.ConsentRecord{{Purpose: "email_marketing", Status: kith.ConsentPending, TextVersion: "v1",
				Source: kith.SourceForm, SourceRef: id, At: t0}},
		},
		DoubleOptIn: []string{"email_marketing"},
	}
}

// continued returns the input the workflow continued as new with, failing the
// test when it ended otherwise.
func continued[T any](t *testing.T, env *testsuite.TestWorkflowEnvironment) T {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", env.GetWorkflowError())
	}
	var next T
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

var updateSeq int

// update sends an update and fails the test if it is rejected or fails.
func update(t *testing.T, env *testsuite.TestWorkflowEnvironment, name string, arg any) {
	t.Helper()
	updateSeq++
	env.UpdateWorkflow(name, fmt.Sprint("update-", updateSeq), &testsuite.TestUpdateCallback{
		OnReject: func(err error) { t.Errorf("%s rejected: %v", name, err) },
		OnAccept: func() {},
		OnComplete: func(_ interface{}, err error) {
			if err != nil {
				t.Errorf("%s failed: %v", name, err)
			}
		},
	}, arg)
}

func query(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.ContactView {
	t.Helper()
	v, err := env.QueryWorkflow(workflows.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var view workflows.ContactView
	if err := v.Get(&view); err != nil {
		t.Fatal(err)
	}
	return view
}

func TestDoubleOptInExpiresAfterTimeout(t *testing.T) {
	store := newFakeProfiles()
	env := contactEnv(t, store)
	env.SetStartTime(t0)
	var before, after workflows.ContactView
	env.RegisterDelayedCallback(func() { update(t, env, workflows.UpdateSubmit, marketingSubmission("s1")) }, 0)
	env.RegisterDelayedCallback(func() { before = query(t, env) }, 6*24*time.Hour)
	env.RegisterDelayedCallback(func() { after = query(t, env); env.CancelWorkflow() }, 7*24*time.Hour+time.Minute)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID})

	if p, ok := before.Pending["email_marketing"]; !ok || p.Token == "" || !p.Deadline.Equal(t0.Add(7*24*time.Hour)) {
		t.Errorf("after 6 days: pending %+v, want a token and a deadline 7 days after the submission", before.Pending)
	}
	if before.Consents["email_marketing"].Status != kith.ConsentPending || before.Stage != "lead" {
		t.Errorf("after 6 days: consent %q, stage %q", before.Consents["email_marketing"].Status, before.Stage)
	}
	if len(after.Pending) != 0 || after.Consents["email_marketing"].Status != kith.ConsentExpired {
		t.Errorf("after 7 days: pending %v, consent %q; want expired", after.Pending, after.Consents["email_marketing"].Status)
	}
	if got := store.statuses("email_marketing"); len(got) != 2 || got[1] != kith.ConsentExpired {
		t.Errorf("ledger %v, want [pending expired]", got)
	}
	if len(store.outbox) != 1 {
		t.Errorf("%d confirmation messages, want 1", len(store.outbox))
	}
}

func TestConfirmationGrantsAndWithdrawalCancels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action func(t *testing.T, env *testsuite.TestWorkflowEnvironment, token string)
		want   kith.ConsentStatus
		ledger []kith.ConsentStatus
	}{
		{"confirm", func(t *testing.T, env *testsuite.TestWorkflowEnvironment, token string) {
			env.SignalWorkflow(workflows.SignalConfirm, workflows.ConfirmSignal{Purpose: "email_marketing", Token: token, At: t0.Add(time.Hour)})
		}, kith.ConsentGranted, []kith.ConsentStatus{kith.ConsentPending, kith.ConsentGranted}},
		{"wrong token", func(t *testing.T, env *testsuite.TestWorkflowEnvironment, token string) {
			env.SignalWorkflow(workflows.SignalConfirm, workflows.ConfirmSignal{Purpose: "email_marketing", Token: token + "x", At: t0.Add(time.Hour)})
		}, kith.ConsentExpired, []kith.ConsentStatus{kith.ConsentPending, kith.ConsentExpired}},
		{"withdraw", func(t *testing.T, env *testsuite.TestWorkflowEnvironment, _ string) {
			update(t, env, workflows.UpdateConsent, workflows.ConsentChange{Record: kith.ConsentRecord{
				Purpose: "email_marketing", Status: kith.ConsentWithdrawn, TextVersion: "v1",
				Source: kith.SourceForm, SourceRef: "req-1", At: t0.Add(time.Hour)}})
		}, kith.ConsentWithdrawn, []kith.ConsentStatus{kith.ConsentPending, kith.ConsentWithdrawn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeProfiles()
			env := contactEnv(t, store)
			env.SetStartTime(t0)
			var view workflows.ContactView
			env.RegisterDelayedCallback(func() { update(t, env, workflows.UpdateSubmit, marketingSubmission("s1")) }, 0)
			env.RegisterDelayedCallback(func() {
				tc.action(t, env, query(t, env).Pending["email_marketing"].Token)
			}, time.Hour)
			env.RegisterDelayedCallback(func() { view = query(t, env); env.CancelWorkflow() }, 8*24*time.Hour)
			env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID})
			if got := view.Consents["email_marketing"].Status; got != tc.want || len(view.Pending) != 0 {
				t.Errorf("consent %q, pending %v; want %q and nothing pending", got, view.Pending, tc.want)
			}
			if got := store.statuses("email_marketing"); !slicesEqual(got, tc.ledger) {
				t.Errorf("ledger %v, want %v", got, tc.ledger)
			}
		})
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestResubmissionChangesNothing(t *testing.T) {
	store := newFakeProfiles()
	env := contactEnv(t, store)
	env.SetStartTime(t0)
	var view workflows.ContactView
	for range 3 {
		env.RegisterDelayedCallback(func() { update(t, env, workflows.UpdateSubmit, marketingSubmission("same")) }, 0)
	}
	env.RegisterDelayedCallback(func() { view = query(t, env); env.CancelWorkflow() }, time.Minute)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID})
	if store.recordCalls != 1 || len(store.outbox) != 1 || len(view.Ledger) != 1 {
		t.Errorf("three deliveries of one submission: %d writes, %d messages, %d ledger entries; want 1 each",
			store.recordCalls, len(store.outbox), len(view.Ledger))
	}
	if view.Fields[kith.FieldEmail].Value != "ada@example.com" || view.Completeness != 25 {
		t.Errorf("view %+v", view)
	}
}

func TestSubmitRejectsInvalidDataSynchronously(t *testing.T) {
	store := newFakeProfiles()
	env := contactEnv(t, store)
	bad := marketingSubmission("s1")
	bad.Submission.Fields["phone"] = kith.Value{Value: "12"}
	var rejected error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateSubmit, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(interface{}, error) {},
		}, bad)
	}, 0)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Minute)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID})
	if rejected == nil || store.recordCalls != 0 {
		t.Errorf("invalid phone: rejected %v, %d writes; want a rejection and no write", rejected, store.recordCalls)
	}
}

func TestContinueAsNewCarriesEverySignal(t *testing.T) {
	env := contactEnv(t, newFakeProfiles())
	env.RegisterDelayedCallback(func() {
		for i := range 25 {
			env.SignalWorkflow(workflows.SignalEvent, workflows.EventSignal{EventID: string(rune('a' + i)), Type: "page_view", At: t0})
		}
	}, 0)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, MaxEventsInRun: 10})
	next := continued[workflows.ContactInput](t, env)
	if next.State == nil || next.State.Events != 25 || next.MaxEventsInRun != 10 {
		t.Errorf("carried state %+v, want all 25 events and the same threshold", next.State)
	}
}

// slowLoad is a store whose profile read takes a snapshot, then answers only after
// a submission was written (or a second passed): the reload that a profile-changed
// signal starts is older than the submission that overtakes it.
type slowLoad struct {
	*fakeProfiles
}

func (s slowLoad) Contact(ctx context.Context, id string) (kith.Contact, error) {
	c, err := s.fakeProfiles.Contact(ctx, id)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := s.recordCalls
		s.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c, err
}

func TestProfileChangeAndSubmissionInterleavedEndWithNewestValues(t *testing.T) {
	store := newFakeProfiles()
	store.fields[kith.FieldFirstName] = kith.Value{Value: "Old", Provenance: kith.Provenance{Source: kith.SourceForm, Ref: "profile/s0", At: t0}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env, workflows.Activities{Import: &activities.Import{}, Contacts: &activities.Contacts{Store: slowLoad{store}, PublicURL: "http://kith.test"},
		Matcher: &activities.Matcher{Store: lonely{}}})
	env.SetStartTime(t0)
	sub := marketingSubmission("s1")
	sub.Submission.Fields[kith.FieldFirstName] = kith.Value{Value: "New", Provenance: kith.Provenance{Source: kith.SourceForm, Ref: "s1", At: t0.Add(time.Minute)}}
	var view workflows.ContactView
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalProfileChanged, kith.ProfileChange{ContactID: contactID, Source: kith.SourceCRM, Ref: "crm/1"})
	}, time.Second)
	env.RegisterDelayedCallback(func() { update(t, env, workflows.UpdateSubmit, sub) }, 2*time.Second)
	env.RegisterDelayedCallback(func() { view = query(t, env); env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID})
	if got := view.Fields[kith.FieldFirstName].Value; got != "New" || view.Fields[kith.FieldEmail].Value != "ada@example.com" {
		t.Errorf("first name %q, email %q; want the submission's New and ada@example.com (an older reload overwrote them)",
			got, view.Fields[kith.FieldEmail].Value)
	}
}

// TestRulesArePinnedWhenARunBegins: a contact decides with the rules pinned in
// its state, not with whatever the deployed defaults are now, so editing
// schemas/quality/weights.json cannot change what a running contact decided (and
// so cannot break its replay); a new contact pins the defaults and carries them.
func TestRulesArePinnedWhenARunBegins(t *testing.T) {
	pinned := workflows.ContactRules{Weights: make([]float64, len(kith.ProfileFields)), MarketingPurpose: "newsletter"}
	pinned.Weights[0] = 10 // email alone is the whole score
	store := newFakeProfiles()
	env := contactEnv(t, store)
	env.SetStartTime(t0)
	var view workflows.ContactView
	env.RegisterDelayedCallback(func() { update(t, env, workflows.UpdateSubmit, marketingSubmission("s1")) }, 0)
	env.RegisterDelayedCallback(func() { view = query(t, env); env.CancelWorkflow() }, time.Minute)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID,
		State: &workflows.ContactState{Rules: &pinned}})
	if view.Completeness != 100 || view.Stage != "lead" {
		t.Errorf("completeness %d, stage %q; want 100 by the pinned weights, and lead (email_marketing is not the pinned purpose)", view.Completeness, view.Stage)
	}

	env = contactEnv(t, newFakeProfiles())
	env.RegisterDelayedCallback(func() {
		for i := range 3 {
			env.SignalWorkflow(workflows.SignalEvent, workflows.EventSignal{EventID: fmt.Sprint(i), Type: "page_view", At: t0})
		}
	}, 0)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID, MaxEventsInRun: 2})
	next := continued[workflows.ContactInput](t, env)
	if def := workflows.DefaultContactRules(); next.State.Rules == nil || !slicesEqual(next.State.Rules.Weights, def.Weights) ||
		next.State.Rules.MarketingPurpose != def.MarketingPurpose {
		t.Errorf("carried rules %+v, want the defaults pinned at the start", next.State.Rules)
	}
}

func TestSurvivorTakesOverAMergedSubmission(t *testing.T) {
	store := newFakeProfiles()
	store.fields[kith.FieldFirstName] = kith.Value{Value: "Ada", Provenance: kith.Provenance{Source: kith.SourceForm, Ref: "merged/s9", At: t0}}
	env := contactEnv(t, store)
	env.SetStartTime(t0)
	sub := marketingSubmission("s9")
	notice := kith.MergeNotice{ID: "merge/" + contactID + "/other/s9", SurvivorID: contactID, MergedID: "other",
		Consents: sub.Submission.Consents, DoubleOptIn: sub.DoubleOptIn}
	var first, second workflows.ContactView
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalMerged, notice) }, time.Second)
	env.RegisterDelayedCallback(func() { first = query(t, env) }, time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalMerged, notice) }, 2*time.Minute)
	env.RegisterDelayedCallback(func() { second = query(t, env); env.CancelWorkflow() }, 3*time.Minute)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID})

	if first.Fields[kith.FieldFirstName].Value != "Ada" {
		t.Errorf("survivor's fields %v: the profile was not reloaded", first.Fields)
	}
	p, ok := first.Pending["email_marketing"]
	if !ok || p.Token == "" || first.Consents["email_marketing"].Status != kith.ConsentPending {
		t.Errorf("survivor: consent %q, pending %v; want the merged submission's opt-in running here", first.Consents["email_marketing"].Status, first.Pending)
	}
	if second.Pending["email_marketing"].Token != p.Token || len(store.outbox) != 1 {
		t.Errorf("the notice repeated started another opt-in: %d confirmation messages", len(store.outbox))
	}
	if first.MergedInto != "" {
		t.Errorf("the survivor points at %q", first.MergedInto)
	}
}

func TestMergedContactFiresNoTriggers(t *testing.T) {
	env := triggerEnv(t, newFakeDeliveries(), testTriggers(0))
	env.SetStartTime(t0)
	var view workflows.ContactView
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalMerged, kith.MergeNotice{ID: "merge/survivor/" + contactID, SurvivorID: "survivor", MergedID: contactID})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalEvent, kith.EventNotice{EventID: "e1", Type: "Product Viewed", At: t0.Add(time.Minute)})
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() { view = query(t, env); env.CancelWorkflow() }, 3*time.Minute)
	env.ExecuteWorkflow(workflows.ContactLifecycleName, workflows.ContactInput{ContactID: contactID})
	if view.MergedInto != "survivor" {
		t.Fatalf("merged into %q, want survivor", view.MergedInto)
	}
	if view.Triggers != nil && len(view.Triggers.Pending) > 0 {
		t.Errorf("a merged contact keeps triggers pending: %+v", view.Triggers.Pending)
	}
}
