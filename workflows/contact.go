package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/quality"
)

// Wire names of ContactLifecycle and its messages.
const (
	ContactLifecycleName = "ContactLifecycle"
	// UpdateSubmit applies an accepted form submission (SubmitRequest → ContactView).
	UpdateSubmit = "submit"
	// UpdateConsent grants or withdraws one consent purpose (ConsentChange → ContactView).
	UpdateConsent = "consent"
	// SignalEvent tells the contact about a behavioural event (EventSignal).
	SignalEvent = "event"
	// SignalConfirm confirms a double opt-in (ConfirmSignal).
	SignalConfirm = "confirm"
	// SignalProfileChanged tells the contact another source changed its stored
	// profile (kith.ProfileChange): it reloads it.
	SignalProfileChanged = "profile_changed"
	// SignalMerged tells the contact about a merge made as a contact was
	// written (kith.MergeNotice): the survivor takes over, a merged contact
	// points at it.
	SignalMerged = "merged"
	// QueryState returns the ContactView.
	QueryState = "state"
)

// Defaults of ContactInput.
const (
	DefaultOptInTimeout   = 7 * 24 * time.Hour
	DefaultMaxEventsInRun = 1000
	recentSubmissions     = 200 // submission ids remembered for idempotency
	recentEvents          = 500 // event ids remembered: a relayed event signalled twice counts once
	ledgerInState         = 50  // consent records kept in the workflow (all are in PostgreSQL)
)

// Search attributes the contact keeps current, so ops can find contacts in the
// Temporal UI. They hold no PII.
var (
	SearchCompleteness = temporal.NewSearchAttributeKeyFloat64("KithCompleteness")
	SearchConsent      = temporal.NewSearchAttributeKeyKeyword("KithConsentStatus")
	SearchStage        = temporal.NewSearchAttributeKeyKeyword("KithLifecycleStage")
	SearchSource       = temporal.NewSearchAttributeKeyKeyword("KithSource")
)

// ContactWorkflowID is the workflow ID of a contact. Contact IDs are opaque UUIDs:
// workflow IDs are not encrypted, so they must never hold an email or phone.
func ContactWorkflowID(contactID string) string { return "contact/" + contactID }

// ContactStartOptions start (or join) the contact's workflow.
func ContactStartOptions(contactID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       ContactWorkflowID(contactID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// ContactInput starts a contact's workflow; State carries it across continue-as-new.
type ContactInput struct {
	ContactID string        `json:"contact_id"`
	State     *ContactState `json:"state,omitempty"`
	// MaxEventsInRun is how many messages one run handles before it continues as
	// new (default DefaultMaxEventsInRun; the server's suggestion also triggers it).
	MaxEventsInRun int `json:"max_events_in_run,omitempty"`
	// OptInTimeout is how long a double opt-in waits for its confirmation.
	OptInTimeout time.Duration `json:"opt_in_timeout,omitempty"`
}

// ContactState is what the workflow knows of its contact.
type ContactState struct {
	Fields   map[kith.Field]kith.Value     `json:"fields"`
	Consents map[string]kith.ConsentRecord `json:"consents"` // latest per purpose
	// Ledger is the most recent consent records, oldest first.
	Ledger      []kith.ConsentRecord    `json:"ledger"`
	Pending     map[string]PendingOptIn `json:"pending"` // double opt-ins by purpose
	Submissions []string                `json:"submissions"`
	// SeenEvents are the latest event ids counted (runs begun before event
	// de-duplication keep none).
	SeenEvents   []string    `json:"seen_events,omitempty"`
	Completeness int         `json:"completeness"`
	Events       int         `json:"events"`
	LastEventAt  time.Time   `json:"last_event_at,omitzero"`
	Source       kith.Source `json:"source,omitempty"` // first source that created it
	// Rules are the rules this contact was pinned to when its run began; nil in
	// runs begun before rules were pinned (they read the defaults).
	Rules *ContactRules `json:"rules,omitempty"`
	// Triggers are the personalization triggers pending, sent and decided.
	Triggers *TriggerState `json:"triggers,omitempty"`
	// TimeZone is the IANA zone the contact's browser last reported.
	TimeZone string `json:"time_zone,omitempty"`
	// MergedInto is the contact this one was merged into as it was written:
	// its later submissions are folded into that one, and it fires no
	// triggers of its own.
	MergedInto string `json:"merged_into,omitempty"`
}

// ContactRules are the rules a contact's workflow decides with. They are pinned
// into its state when a run begins (recorded in history as a side effect), so a
// deploy that edits the weights or renames a purpose cannot change what a running
// workflow decides on replay; a new run (continue-as-new) keeps the pinned rules.
type ContactRules struct {
	// Weights score completeness, in kith.ProfileFields order.
	Weights quality.Weights `json:"weights"`
	// MarketingPurpose is the consent purpose that makes a lead a subscriber and
	// that the KithConsentStatus search attribute shows.
	MarketingPurpose string `json:"marketing_purpose"`
}

// DefaultContactRules are the rules a new contact is pinned to.
func DefaultContactRules() ContactRules {
	return ContactRules{Weights: quality.DefaultWeights, MarketingPurpose: "email_marketing"}
}

// PendingOptIn is a double opt-in waiting for its confirmation.
type PendingOptIn struct {
	Token       string    `json:"token"`
	TextVersion string    `json:"text_version"`
	Ref         string    `json:"ref"`
	Deadline    time.Time `json:"deadline"`
}

// The messages' payloads are the root package's types, which the API sends
// through kith.ContactService.
type (
	// SubmitRequest applies a form submission (the submit update).
	SubmitRequest = kith.SubmitRequest
	// ConsentChange grants or withdraws one purpose (the consent update).
	ConsentChange = kith.ConsentChange
	// ConfirmSignal confirms a double opt-in (the confirm signal).
	ConfirmSignal = kith.OptInConfirmation
	// EventSignal is a behavioural event of the contact (the event signal).
	EventSignal = kith.EventNotice
)

// ContactView is the contact's state as queries and updates return it.
type ContactView struct {
	ContactID string `json:"contact_id"`
	ContactState
	Stage string `json:"stage"`
}

// profileWriteOptions: profile writes are small PostgreSQL transactions; retry
// through a database restart for up to an hour, quickly at first because a person
// may be waiting on the form.
var profileWriteOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    200 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    30 * time.Second,
	},
}

// ContactLifecycle is the entity workflow of one contact: it applies form
// submissions, consent changes and events, runs double opt-in, keeps the
// completeness score and the search attributes current, and continues as new
// before its history grows large, carrying its state and every signal.
func ContactLifecycle(ctx workflow.Context, in ContactInput) error {
	ctx = workflow.WithActivityOptions(ctx, profileWriteOptions)
	c := newContact(in)
	if err := c.register(ctx); err != nil {
		return err
	}
	c.pinRules(ctx)
	events := workflow.GetSignalChannel(ctx, SignalEvent)
	confirms := workflow.GetSignalChannel(ctx, SignalConfirm)
	changes := workflow.GetSignalChannel(ctx, SignalProfileChanged)
	merges := workflow.GetSignalChannel(ctx, SignalMerged)
	if !c.oneMarker || events.Len()+confirms.Len()+changes.Len()+merges.Len() == 0 {
		c.upsertSearch(ctx) // else the loop writes them after the first message
	}
	for !c.shouldContinue(ctx) {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(ch workflow.ReceiveChannel, _ bool) {
			var e EventSignal
			ch.Receive(ctx, &e)
			c.onEvent(ctx, e)
		})
		sel.AddReceive(confirms, func(ch workflow.ReceiveChannel, _ bool) {
			var s ConfirmSignal
			ch.Receive(ctx, &s)
			c.onConfirm(ctx, s)
		})
		sel.AddReceive(changes, func(ch workflow.ReceiveChannel, _ bool) {
			var chg kith.ProfileChange
			ch.Receive(ctx, &chg)
			c.onProfileChanged(ctx, chg)
		})
		sel.AddReceive(merges, func(ch workflow.ReceiveChannel, _ bool) {
			var n kith.MergeNotice
			ch.Receive(ctx, &n)
			c.onMerged(ctx, n)
		})
		sel.AddReceive(c.wake, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil) })
		if f := c.optInTimer(ctx); f != nil {
			sel.AddFuture(f, func(f workflow.Future) {
				if f.Get(ctx, nil) == nil {
					c.expireOptIns(ctx)
				}
			})
		}
		if f := c.triggerDue.future(ctx, c.nextTriggerDue()); f != nil {
			sel.AddFuture(f, func(f workflow.Future) {
				if f.Get(ctx, nil) == nil {
					c.triggerDue.fired()
					c.fireDue(ctx)
				}
			})
		}
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return err // cancelled: ops ended this contact's workflow
		}
		c.upsertSearch(ctx)
	}

	// Drain before continuing as new: signals that arrived are applied here and
	// carried over in the state; the server refuses to close a run that has
	// unhandled signals, so none can slip through.
	for {
		var e EventSignal
		var s ConfirmSignal
		var chg kith.ProfileChange
		var n kith.MergeNotice
		switch {
		case events.ReceiveAsync(&e):
			c.onEvent(ctx, e)
		case confirms.ReceiveAsync(&s):
			c.onConfirm(ctx, s)
		case changes.ReceiveAsync(&chg):
			c.onProfileChanged(ctx, chg)
		case merges.ReceiveAsync(&n):
			c.onMerged(ctx, n)
		default:
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && c.inflight == 0 }); err != nil {
				return err
			}
			if events.Len() > 0 || confirms.Len() > 0 || changes.Len() > 0 || merges.Len() > 0 {
				continue
			}
			next := in
			next.State = &c.state
			return workflow.NewContinueAsNewError(ctx, ContactLifecycleName, next)
		}
	}
}

// contact is one run of ContactLifecycle.
type contact struct {
	id       string
	state    ContactState
	maxMsgs  int
	timeout  time.Duration
	handled  int              // messages handled in this run
	wake     workflow.Channel // updates nudge the main loop to re-check
	optIn    deadline         // the earliest double opt-in deadline
	searched map[string]any   // search attribute values last upserted
	// triggers is false in runs begun before personalization triggers; they
	// evaluate none. triggerDue fires at the earliest pending trigger's due
	// time; inflight counts deliveries running beside the main loop.
	triggers   bool
	triggerDue deadline
	inflight   int
	// serialized is false in runs begun before every handler took a lock (their
	// histories replay the old interleaving).
	serialized bool
	// dedupEvents is false in runs begun before events were de-duplicated.
	dedupEvents bool
	// oneMarker is true in runs begun since the workflow's changes share one
	// version marker: a trigger due at once fires in the handler of the event
	// that started it, and a run that begins with a message waiting writes its
	// search attributes once, after handling it.
	oneMarker bool
	// matchOnWrite is true in runs begun since contacts are matched as they
	// are written (version 2 of the one marker).
	matchOnWrite bool
	// profile serializes every handler that waits on an activity and then writes
	// the profile (submissions, profile reloads); consent serializes those that
	// write consents. A withdrawal takes only the consent lock: it never waits
	// behind a submission. Lock order: profile, then consent.
	profile, consent workflow.Mutex
}

func newContact(in ContactInput) *contact {
	c := &contact{id: in.ContactID, maxMsgs: in.MaxEventsInRun, timeout: in.OptInTimeout}
	if c.maxMsgs <= 0 {
		c.maxMsgs = DefaultMaxEventsInRun
	}
	if c.timeout <= 0 {
		c.timeout = DefaultOptInTimeout
	}
	if in.State != nil {
		c.state = *in.State
	}
	if c.state.Fields == nil {
		c.state.Fields = map[kith.Field]kith.Value{}
	}
	if c.state.Consents == nil {
		c.state.Consents = map[string]kith.ConsentRecord{}
	}
	if c.state.Pending == nil {
		c.state.Pending = map[string]PendingOptIn{}
	}
	return c
}

func (c *contact) register(ctx workflow.Context) error {
	c.wake = workflow.NewBufferedChannel(ctx, 1)
	c.profile, c.consent = workflow.NewMutex(ctx), workflow.NewMutex(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (ContactView, error) { return c.view(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSubmit, c.submit,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req SubmitRequest) error {
			return refused(c.validateSubmit(ctx, req))
		}}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateConsent, c.changeConsent,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, ch ConsentChange) error {
			return refused(validateConsent(ctx, ch))
		}})
}

// refused is a validator's refusal as the caller sees it: an application error
// of type activities.ErrInvalid carrying the violations, which the contact
// service answers with kith.CodeInvalid.
func refused(err error) error {
	if err == nil {
		return nil
	}
	var ke *kith.Error
	if errors.As(err, &ke) {
		return temporal.NewNonRetryableApplicationError(ke.Message, activities.ErrInvalid, nil, ke.Violations)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalid, nil)
}

// pinRules decides, once per run, whether this run serializes every handler and
// pins its rules (runs begun before version 1 do neither), and pins the default
// rules into a state that has none.
//
// Each GetVersion also upserts the TemporalChangeVersion search attribute, a
// visibility write at every contact's start, so runs begun since
// "one-version-marker" record that one marker for all of the changes before it;
// older runs replay their three.
func (c *contact) pinRules(ctx workflow.Context) {
	if v := workflow.GetVersion(ctx, "one-version-marker", workflow.DefaultVersion, 2); v >= 1 {
		c.oneMarker, c.dedupEvents, c.triggers, c.serialized = true, true, true, true
		c.matchOnWrite = v >= 2
	} else {
		c.dedupEvents = workflow.GetVersion(ctx, "dedup-events", workflow.DefaultVersion, 1) >= 1
		c.triggers = workflow.GetVersion(ctx, "personalization-triggers", workflow.DefaultVersion, 1) >= 1
		c.serialized = workflow.GetVersion(ctx, "serialized-handlers-pinned-rules", workflow.DefaultVersion, 1) >= 1
	}
	if !c.serialized {
		c.consent = c.profile // one lock for the updates, as before
		return
	}
	if c.state.Rules == nil {
		var r ContactRules
		if err := workflow.SideEffect(ctx, func(workflow.Context) any { return DefaultContactRules() }).Get(&r); err == nil {
			c.state.Rules = &r
		}
	}
}

// rules are the pinned rules, or the defaults in a run begun before pinning.
func (c *contact) rules() ContactRules {
	if c.state.Rules != nil {
		return *c.state.Rules
	}
	return DefaultContactRules()
}

// lock takes m for a handler that waits and then writes; in runs begun before
// serialization, signal handlers took no lock (hold is false for them).
func (c *contact) lock(ctx workflow.Context, m workflow.Mutex, hold bool) (unlock func(), err error) {
	if !hold && !c.serialized {
		return func() {}, nil
	}
	if err := m.Lock(ctx); err != nil {
		return nil, err
	}
	return m.Unlock, nil
}

func (c *contact) shouldContinue(ctx workflow.Context) bool {
	return c.handled >= c.maxMsgs || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

func (c *contact) nudge() {
	c.handled++
	c.wake.SendAsync(struct{}{})
}

// validateSubmit refuses, before anything is written to history, a submission
// whose values the quality rules reject: the HTTP API checked them already, so
// this guards other callers.
func (c *contact) validateSubmit(ctx workflow.Context, req SubmitRequest) error {
	s := req.Submission
	if s.SubmissionID == "" || s.ContactID != c.id {
		return errors.New("a submission needs its id and this contact's id")
	}
	raw := make(map[kith.Field]string, len(s.Fields))
	for _, f := range kith.SortedKeys(s.Fields) {
		if _, ok := kith.ParseField(string(f)); !ok {
			return fmt.Errorf("%q is not a profile field", f)
		}
		raw[f] = s.Fields[f].Value
	}
	opts := quality.Options{DefaultRegion: req.Region, Now: workflow.Now(ctx)}.ForContact(c.state.Fields)
	if rejects, _ := quality.Record(raw, opts).Violations.Split(); len(rejects) > 0 {
		return &kith.Error{Code: kith.CodeInvalid, Message: "the submission has values the rules refuse", Violations: rejects}
	}
	for _, cr := range s.Consents {
		if err := validConsent(cr); err != nil {
			return err
		}
	}
	return nil
}

func validateConsent(_ workflow.Context, ch ConsentChange) error {
	if ch.Record.Status != kith.ConsentGranted && ch.Record.Status != kith.ConsentWithdrawn {
		return fmt.Errorf("a consent change grants or withdraws, not %q", ch.Record.Status)
	}
	return validConsent(ch.Record)
}

func validConsent(cr kith.ConsentRecord) error {
	if cr.Purpose == "" || cr.Source == "" || cr.SourceRef == "" || cr.At.IsZero() {
		return errors.New("a consent record needs its purpose, source, reference and time")
	}
	return nil
}

// submit applies a submission once: a repeat of a submission id returns the
// current view and writes nothing.
func (c *contact) submit(ctx workflow.Context, req SubmitRequest) (ContactView, error) {
	defer c.nudge()
	ctx = workflow.WithActivityOptions(ctx, profileWriteOptions) // handlers get the root context
	unlock, err := c.lock(ctx, c.profile, true)
	if err != nil {
		return ContactView{}, err
	}
	defer unlock()
	s := req.Submission
	if slices.Contains(c.state.Submissions, s.SubmissionID) {
		return c.view(), nil
	}
	var a *activities.Contacts
	var stored kith.Contact
	if err := workflow.ExecuteActivity(ctx, a.RecordSubmission, s).Get(ctx, &stored); err != nil {
		return ContactView{}, err
	}
	c.state.Fields = stored.Fields
	if c.state.Source == "" {
		c.state.Source = kith.SourceForm
	}
	c.state.Submissions = appendRecent(c.state.Submissions, s.SubmissionID, recentSubmissions)
	submitted := kith.EventNotice{EventID: "form/" + s.SubmissionID, Type: "Form Submitted", At: s.ReceivedAt,
		Properties: mustJSON(map[string]string{"form": s.Form})}
	if c.matchOnWrite {
		// The answers may say this is a person Kith knows under another
		// contact: then that one takes over what the submission still had to
		// do (its consents' opt-ins, its triggers).
		c.match(ctx, activities.MatchInput{ContactID: c.id, Unverified: true, Notice: kith.MergeNotice{ID: s.SubmissionID,
			Consents: s.Consents, DoubleOptIn: req.DoubleOptIn, Event: &submitted}})
	}
	if c.state.MergedInto != "" {
		// The submitter sees what they sent, never the contact it joined.
		for _, cr := range s.Consents {
			c.applyConsent(cr)
		}
	} else if err := c.applySubmittedConsents(ctx, req); err != nil {
		return ContactView{}, err
	}
	c.rescore()
	c.evaluate(ctx, submitted)
	c.upsertSearch(ctx)
	return c.view(), nil
}

// matchOptions: matching on write reads a few hundred rows and may merge; a
// person may be waiting on the form, so it retries briefly, and a contact it
// could not match is found by the next full de-duplication.
var matchOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    15 * time.Second,
	ScheduleToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    200 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Second,
	},
}

// match matches the contact against the stored ones (activities.Matcher): a
// merge into an older contact makes this one point at it.
func (c *contact) match(ctx workflow.Context, in activities.MatchInput) {
	var m *activities.Matcher
	var res activities.MatchResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, matchOptions), m.MatchContact, in).Get(ctx, &res); err != nil {
		workflow.GetLogger(ctx).Warn("contact not matched; the next de-duplication run will", "error", err)
		return
	}
	if res.Outcome == activities.MatchMerged {
		c.state.MergedInto = res.SurvivorID
		c.cancelTriggers("*", "merged into another contact", workflow.Now(ctx))
	}
}

// onMerged handles a merge made as a contact was written. The survivor reloads
// its profile, applies the consents the merged contact's submission recorded,
// runs their double opt-ins and evaluates its triggers on the submission; a
// merged contact points at its survivor.
func (c *contact) onMerged(ctx workflow.Context, n kith.MergeNotice) {
	c.handled++
	if slices.Contains(c.state.SeenEvents, n.ID) {
		return // a retried match told us again
	}
	c.state.SeenEvents = appendRecent(c.state.SeenEvents, n.ID, recentEvents)
	if n.Undone {
		if n.MergedID == c.id {
			c.state.MergedInto = ""
		}
		if unlock, err := c.lock(ctx, c.profile, false); err == nil {
			c.reload(ctx, kith.ProfileChange{ContactID: c.id, Source: kith.SourceForm, Ref: n.ID})
			unlock()
		}
		return
	}
	if n.SurvivorID != c.id {
		c.state.MergedInto = n.SurvivorID
		c.cancelTriggers("*", "merged into another contact", workflow.Now(ctx))
		return
	}
	c.state.MergedInto = ""
	unlock, err := c.lock(ctx, c.profile, false)
	if err != nil {
		return
	}
	c.reload(ctx, kith.ProfileChange{ContactID: c.id, Source: kith.SourceForm, Ref: n.ID})
	unlock()
	if unlock, err = c.lock(ctx, c.consent, false); err != nil {
		return
	}
	for _, cr := range n.Consents {
		c.applyConsent(cr)
		if cr.Status == kith.ConsentPending && slices.Contains(n.DoubleOptIn, cr.Purpose) {
			if err := c.startOptIn(ctx, cr); err != nil {
				workflow.GetLogger(ctx).Error("double opt-in not started", "purpose", cr.Purpose, "error", err)
			}
		}
	}
	unlock()
	if n.Event != nil {
		c.evaluate(ctx, *n.Event)
		if due := c.nextTriggerDue(); !due.IsZero() && !due.After(workflow.Now(ctx)) {
			c.fireDue(ctx)
		}
	}
}

// applySubmittedConsents applies the consents a stored submission gave and starts
// their double opt-ins, under the consent lock.
func (c *contact) applySubmittedConsents(ctx workflow.Context, req SubmitRequest) error {
	if len(req.Submission.Consents) == 0 {
		return nil
	}
	unlock, err := c.lock(ctx, c.consent, false) // none in runs begun before serialization
	if err != nil {
		return err
	}
	defer unlock()
	for _, cr := range req.Submission.Consents {
		c.applyConsent(cr)
		if cr.Status == kith.ConsentPending && slices.Contains(req.DoubleOptIn, cr.Purpose) {
			if err := c.startOptIn(ctx, cr); err != nil {
				return err
			}
		}
	}
	return nil
}

// changeConsent records a grant or withdrawal; a withdrawal cancels a pending
// double opt-in for the purpose.
func (c *contact) changeConsent(ctx workflow.Context, ch ConsentChange) (ContactView, error) {
	defer c.nudge()
	ctx = workflow.WithActivityOptions(ctx, profileWriteOptions)
	unlock, err := c.lock(ctx, c.consent, true)
	if err != nil {
		return ContactView{}, err
	}
	defer unlock()
	var a *activities.Contacts
	if err := workflow.ExecuteActivity(ctx, a.RecordConsent, activities.ConsentInput{ContactID: c.id, Record: ch.Record}).Get(ctx, nil); err != nil {
		return ContactView{}, err
	}
	c.applyConsent(ch.Record)
	c.upsertSearch(ctx)
	return c.view(), nil
}

func (c *contact) applyConsent(cr kith.ConsentRecord) {
	if cur, ok := c.state.Consents[cr.Purpose]; ok && cur.At.After(cr.At) {
		return // an older change arriving late does not undo a newer one
	}
	c.state.Consents[cr.Purpose] = cr
	if cr.Status != kith.ConsentPending {
		delete(c.state.Pending, cr.Purpose)
	}
	if cr.Status == kith.ConsentWithdrawn || cr.Status == kith.ConsentExpired {
		c.cancelTriggers(cr.Purpose, "consent "+cr.Purpose+" "+string(cr.Status), cr.At)
	}
	c.state.Ledger = appendRecent(c.state.Ledger, cr, ledgerInState)
}

func (c *contact) startOptIn(ctx workflow.Context, cr kith.ConsentRecord) error {
	var a *activities.Contacts
	var conf activities.Confirmation
	if err := workflow.ExecuteActivity(ctx, a.SendConfirmation, activities.ConfirmationInput{
		ContactID: c.id, Purpose: cr.Purpose, Ref: cr.SourceRef,
	}).Get(ctx, &conf); err != nil {
		return err
	}
	if cur := c.state.Consents[cr.Purpose]; cur.Status != kith.ConsentPending || cur.SourceRef != cr.SourceRef {
		return nil // withdrawn while the message was being queued
	}
	c.state.Pending[cr.Purpose] = PendingOptIn{
		Token: conf.Token, TextVersion: cr.TextVersion, Ref: cr.SourceRef,
		Deadline: workflow.Now(ctx).Add(c.timeout),
	}
	return nil
}

func (c *contact) onEvent(ctx workflow.Context, e EventSignal) {
	c.handled++
	if c.dedupEvents {
		if slices.Contains(c.state.SeenEvents, e.EventID) {
			return // the relay signalled it again after a crash
		}
		c.state.SeenEvents = appendRecent(c.state.SeenEvents, e.EventID, recentEvents)
	}
	c.state.Events++
	if e.At.After(c.state.LastEventAt) {
		c.state.LastEventAt = e.At
		if e.TimeZone != "" {
			c.state.TimeZone = e.TimeZone
		}
	}
	c.evaluate(ctx, e)
	if c.oneMarker {
		if due := c.nextTriggerDue(); !due.IsZero() && !due.After(workflow.Now(ctx)) {
			c.fireDue(ctx) // a rule without a wait: no pending state to publish first
		}
	}
}

// onProfileChanged reloads the profile another source (a CRM sync) stored,
// and matches the contact again: a CRM may have given it what identifies it as
// a person Kith knows under another contact.
func (c *contact) onProfileChanged(ctx workflow.Context, ch kith.ProfileChange) {
	c.handled++
	unlock, err := c.lock(ctx, c.profile, false)
	if err != nil {
		return
	}
	defer unlock()
	if c.reload(ctx, ch) && c.matchOnWrite {
		c.match(ctx, activities.MatchInput{ContactID: c.id, Notice: kith.MergeNotice{ID: ch.Ref}})
	}
}

// reload reads the stored profile into the state; callers hold the profile lock.
func (c *contact) reload(ctx workflow.Context, ch kith.ProfileChange) bool {
	var a *activities.Contacts
	var stored kith.Contact
	if err := workflow.ExecuteActivity(ctx, a.LoadContact, c.id).Get(ctx, &stored); err != nil {
		workflow.GetLogger(ctx).Error("profile not reloaded", "ref", ch.Ref, "error", err)
		return false
	}
	c.state.Fields = stored.Fields
	if c.state.Source == "" {
		c.state.Source = ch.Source
	}
	c.rescore()
	return true
}

func (c *contact) onConfirm(ctx workflow.Context, s ConfirmSignal) {
	c.handled++
	unlock, err := c.lock(ctx, c.consent, false)
	if err != nil {
		return
	}
	defer unlock()
	p, ok := c.state.Pending[s.Purpose]
	if !ok || s.Token != p.Token {
		workflow.GetLogger(ctx).Info("confirmation ignored: nothing pending with that token", "purpose", s.Purpose)
		return
	}
	if c.record(ctx, kith.ConsentRecord{
		Purpose: s.Purpose, Status: kith.ConsentGranted, TextVersion: p.TextVersion, Source: kith.SourceForm,
		SourceRef: "confirm/" + p.Ref, IP: s.IP, UserAgent: s.UserAgent, At: s.At,
	}) {
		c.evaluate(ctx, kith.EventNotice{EventID: "confirm/" + p.Ref, Type: "Opt-in Confirmed", At: s.At,
			Properties: mustJSON(map[string]string{"purpose": s.Purpose})})
	}
}

// optInTimer returns a timer that fires at the earliest pending deadline, reusing
// the running one while that deadline stands.
func (c *contact) optInTimer(ctx workflow.Context) workflow.Future {
	var next time.Time
	for _, purpose := range kith.SortedKeys(c.state.Pending) {
		if d := c.state.Pending[purpose].Deadline; next.IsZero() || d.Before(next) {
			next = d
		}
	}
	return c.optIn.future(ctx, next)
}

// deadline is a timer the main loop waits on, kept while its time stands.
type deadline struct {
	at     time.Time
	timer  workflow.Future
	cancel workflow.CancelFunc
}

// future returns a timer that fires at next (nil when next is zero), reusing
// the running one while next stands and cancelling it when next moved.
func (d *deadline) future(ctx workflow.Context, next time.Time) workflow.Future {
	if !next.Equal(d.at) && d.cancel != nil {
		d.cancel()
		*d = deadline{}
	}
	if next.IsZero() {
		return nil
	}
	if d.timer == nil {
		tctx, cancel := workflow.WithCancel(ctx)
		d.timer, d.cancel, d.at = workflow.NewTimer(tctx, max(next.Sub(workflow.Now(ctx)), 0)), cancel, next
	}
	return d.timer
}

// fired forgets a timer that fired.
func (d *deadline) fired() { *d = deadline{} }

// expireOptIns records every double opt-in whose deadline passed as expired.
func (c *contact) expireOptIns(ctx workflow.Context) {
	c.optIn.fired()
	unlock, err := c.lock(ctx, c.consent, false)
	if err != nil {
		return
	}
	defer unlock()
	now := workflow.Now(ctx)
	for _, purpose := range kith.SortedKeys(c.state.Pending) {
		p := c.state.Pending[purpose]
		if p.Deadline.After(now) {
			continue
		}
		c.record(ctx, kith.ConsentRecord{
			Purpose: purpose, Status: kith.ConsentExpired, TextVersion: p.TextVersion, Source: kith.SourceForm,
			SourceRef: "expired/" + p.Ref, At: now,
		})
	}
}

// record writes a consent change the workflow itself decided and applies it,
// reporting whether it did. Callers hold the consent lock.
func (c *contact) record(ctx workflow.Context, cr kith.ConsentRecord) bool {
	var a *activities.Contacts
	if err := workflow.ExecuteActivity(ctx, a.RecordConsent, activities.ConsentInput{ContactID: c.id, Record: cr}).Get(ctx, nil); err != nil {
		// Only after an hour of retries: keep the state as it was, so the timer or
		// the next confirmation tries again.
		workflow.GetLogger(ctx).Error("consent not recorded", "purpose", cr.Purpose, "error", err)
		return false
	}
	c.applyConsent(cr)
	return true
}

// mustJSON is v as JSON (a map of strings: it cannot fail).
func mustJSON(v any) json.RawMessage {
	// Marshal writes a map's keys sorted: the same map gives the same bytes.
	//workflowcheck:ignore
	b, _ := json.Marshal(v)
	return b
}

func (c *contact) rescore() {
	c.state.Completeness = quality.Score(c.state.Fields, c.rules().Weights).Score
}

// stage is where the contact is in its lifecycle.
func (c *contact) stage() string { return stage(c.state.Fields, c.state.Consents, c.rules()) }

// stage is where a contact with these fields and consents is in its lifecycle.
func stage(fields map[kith.Field]kith.Value, consents map[string]kith.ConsentRecord, r ContactRules) string {
	switch {
	case consents[r.MarketingPurpose].Status == kith.ConsentGranted:
		return "subscriber"
	case fields[kith.FieldEmail].Value != "":
		return "lead"
	default:
		return "anonymous"
	}
}

func (c *contact) consentStatus() string {
	if s := c.state.Consents[c.rules().MarketingPurpose].Status; s != "" {
		return string(s)
	}
	return "none"
}

// upsertSearch writes the search attributes that changed.
func (c *contact) upsertSearch(ctx workflow.Context) {
	now := map[string]any{
		"completeness": float64(c.state.Completeness), "consent": c.consentStatus(),
		"stage": c.stage(), "source": string(c.state.Source),
	}
	if c.triggers {
		now["triggers"] = strings.Join(c.pendingRules(), ",")
	}
	if c.searched != nil && c.searched["completeness"] == now["completeness"] && c.searched["consent"] == now["consent"] &&
		c.searched["stage"] == now["stage"] && c.searched["source"] == now["source"] && c.searched["triggers"] == now["triggers"] {
		return
	}
	updates := []temporal.SearchAttributeUpdate{
		SearchCompleteness.ValueSet(now["completeness"].(float64)),
		SearchConsent.ValueSet(now["consent"].(string)),
		SearchStage.ValueSet(now["stage"].(string)),
	}
	if c.state.Source != "" {
		updates = append(updates, SearchSource.ValueSet(string(c.state.Source)))
	}
	if c.triggers {
		updates = append(updates, SearchPendingTriggers.ValueSet(c.pendingRules()))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
		return
	}
	c.searched = now
}

func (c *contact) view() ContactView {
	return ContactView{ContactID: c.id, ContactState: c.state, Stage: c.stage()}
}

// appendRecent appends v and keeps the newest n: what the state remembers of an
// unbounded stream (submission ids, consent records, event ids).
func appendRecent[T any](s []T, v T, n int) []T {
	s = append(s, v)
	if len(s) > n {
		s = slices.Clone(s[len(s)-n:])
	}
	return s
}
