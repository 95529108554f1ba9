package workflows

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/quality"
)

// Personalization triggers in the contact's workflow: a rule's starting event
// makes a pending trigger; events during its wait can cancel it; when the wait
// ends the conditions are checked as they are then (consent at the moment of
// use), the daily caps and quiet hours in the contact's local time, and the
// delivery activity records and sends the message. Every decision that is not a
// send is kept with its reason.

const (
	// SearchPendingTriggers lists the rules waiting to fire for the contact.
	searchPendingTriggersName = "KithPendingTriggers"
	recentTriggerOutcomes     = 50  // decisions the state query shows
	recentSends               = 100 // sends remembered for re-eligibility and caps
	maxTriggerEvents          = 10  // events a pending trigger carries into its message
)

// SearchPendingTriggers is the rules with a pending trigger, for ops in the
// Temporal UI ("KithPendingTriggers = 'cart_abandonment'").
var SearchPendingTriggers = temporal.NewSearchAttributeKeyKeywordList(searchPendingTriggersName)

// TriggerState is what the personalization rules have in hand for a contact.
type TriggerState struct {
	Pending  []PendingTrigger `json:"pending,omitempty"`
	Sent     []TriggerSend    `json:"sent,omitempty"`
	Outcomes []TriggerOutcome `json:"outcomes,omitempty"`
}

// PendingTrigger is a rule started for the contact, waiting until DueAt.
type PendingTrigger struct {
	Rule       string             `json:"rule"`
	Purpose    string             `json:"purpose"`
	Occurrence string             `json:"occurrence"` // the starting event's id
	StartedAt  time.Time          `json:"started_at"`
	DueAt      time.Time          `json:"due_at"`
	Events     []kith.EventNotice `json:"events"`
	// HeldUntil is set when quiet hours moved DueAt.
	HeldUntil time.Time `json:"held_until,omitzero"`
}

// TriggerSend is a message sent (or being sent) under a rule.
type TriggerSend struct {
	Rule       string    `json:"rule"`
	DeliveryID string    `json:"delivery_id"`
	At         time.Time `json:"at"`
	Day        string    `json:"day"` // the contact's local calendar day, YYYY-MM-DD
}

// TriggerOutcome is a decision: sent (accepted), capped, suppressed, failed or
// cancelled, with its reason.
type TriggerOutcome struct {
	Rule       string    `json:"rule"`
	Occurrence string    `json:"occurrence"`
	DeliveryID string    `json:"delivery_id,omitempty"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	At         time.Time `json:"at"`
}

// TriggerCancelled is the outcome of a trigger a cancel-if event, a consent
// withdrawal or a removed rule ended during its wait.
const TriggerCancelled = "cancelled"

var triggerConfig atomic.Pointer[kith.Triggers]

// UseTriggers sets the trigger rules and policy contacts' workflows decide
// with. Each workflow reads them through a mutable side effect, so a deploy
// with new rules reaches running contacts at their next event, and replay
// sees the rules the history recorded.
func UseTriggers(t kith.Triggers) { triggerConfig.Store(&t) }

// triggerRules are the current rules, as recorded in this workflow's history.
func (c *contact) triggerRules(ctx workflow.Context) kith.Triggers {
	var t recordedTriggers
	v := workflow.MutableSideEffect(ctx, "trigger-rules", func(workflow.Context) any {
		if cur := triggerConfig.Load(); cur != nil {
			return recordedTriggers{*cur}
		}
		return recordedTriggers{}
	}, func(a, b any) bool { return a.(recordedTriggers).Version == b.(recordedTriggers).Version })
	if err := v.Get(&t); err != nil {
		workflow.GetLogger(ctx).Error("trigger rules unreadable", "error", err)
	}
	return t.Triggers
}

// recordedTriggers is kith.Triggers as the trigger-rules marker records it,
// written exactly as kith.Triggers is. Every event a contact handles reads the
// rules back from the marker, twice (the SDK compares them, then the workflow
// gets them), and a backlog of thousands of events arrives in one workflow
// task: decoding the same JSON each time was four fifths of the task's time
// and, on a busy worker, tripped the SDK's deadlock detector. So a decoding is
// kept by its bytes, for every workflow on this worker (they share the rules).
// The rules are read, never changed, by the workflow code that gets them.
type recordedTriggers struct{ kith.Triggers }

func (r recordedTriggers) MarshalJSON() ([]byte, error) { return json.Marshal(r.Triggers) }

func (r *recordedTriggers) UnmarshalJSON(b []byte) error {
	lastTriggers.Lock()
	defer lastTriggers.Unlock()
	if !bytes.Equal(b, lastTriggers.raw) { // a marker is never empty JSON
		var t kith.Triggers
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		lastTriggers.raw, lastTriggers.decoded = bytes.Clone(b), t
	}
	r.Triggers = lastTriggers.decoded
	return nil
}

// lastTriggers is the last trigger-rules marker decoded on this worker.
var lastTriggers struct {
	sync.Mutex
	raw     []byte
	decoded kith.Triggers
}

func ruleNamed(t kith.Triggers, name string) (kith.TriggerRule, bool) {
	i := slices.IndexFunc(t.Rules, func(r kith.TriggerRule) bool { return r.Name == name })
	if i < 0 {
		return kith.TriggerRule{}, false
	}
	return t.Rules[i], true
}

func (c *contact) triggerState() *TriggerState {
	if c.state.Triggers == nil {
		c.state.Triggers = &TriggerState{}
	}
	return c.state.Triggers
}

func (c *contact) outcome(o TriggerOutcome) {
	ts := c.triggerState()
	ts.Outcomes = appendRecent(ts.Outcomes, o, recentTriggerOutcomes)
}

// evaluate applies an event to the triggers: it cancels pending triggers whose
// cancel-if it matches, adds it to the others' events, and starts the rules it
// starts (one pending trigger per rule; a rule sent within its re-eligibility
// period does not start).
func (c *contact) evaluate(ctx workflow.Context, e kith.EventNotice) {
	if !c.triggers || c.state.MergedInto != "" {
		return // a merged contact's survivor decides
	}
	if e.Type == activities.ContactArchived {
		c.cancelTriggers("*", "contact archived", workflow.Now(ctx))
		return
	}
	rules := c.triggerRules(ctx)
	now := workflow.Now(ctx)
	ts := c.triggerState()
	kept := ts.Pending[:0:0]
	for _, p := range ts.Pending {
		rule, ok := ruleNamed(rules, p.Rule)
		switch {
		case !ok:
			c.outcome(TriggerOutcome{Rule: p.Rule, Occurrence: p.Occurrence, Status: TriggerCancelled, Reason: "the rule was removed", At: now})
			continue
		case slices.ContainsFunc(rule.CancelIf, func(m kith.EventMatch) bool { return m.Matches(e.Type, e.Properties) }):
			c.outcome(TriggerOutcome{Rule: p.Rule, Occurrence: p.Occurrence, Status: TriggerCancelled, Reason: "cancelled by " + e.Type, At: now})
			continue
		}
		if len(p.Events) < maxTriggerEvents && e.EventID != p.Occurrence {
			p.Events = append(slices.Clone(p.Events), e)
		}
		kept = append(kept, p)
	}
	ts.Pending = kept
	for _, rule := range rules.Rules {
		if !rule.Start.Matches(e.Type, e.Properties) || slices.ContainsFunc(ts.Pending, func(p PendingTrigger) bool { return p.Rule == rule.Name }) {
			continue
		}
		if last := c.lastSend(rule.Name); !last.IsZero() && now.Sub(last) < time.Duration(rule.Reeligible) {
			continue // sent recently: not eligible again yet
		}
		ts.Pending = append(ts.Pending, PendingTrigger{
			Rule: rule.Name, Purpose: rule.Conditions.Purpose, Occurrence: e.EventID,
			StartedAt: now, DueAt: now.Add(time.Duration(rule.Wait)), Events: []kith.EventNotice{e},
		})
	}
}

func (c *contact) lastSend(rule string) time.Time {
	var last time.Time
	for _, s := range c.triggerState().Sent {
		if s.Rule == rule && s.At.After(last) {
			last = s.At
		}
	}
	return last
}

// cancelTriggers ends the pending triggers sent under purpose (a withdrawal).
func (c *contact) cancelTriggers(purpose, reason string, at time.Time) {
	if c.state.Triggers == nil {
		return
	}
	ts := c.state.Triggers
	ts.Pending = slices.DeleteFunc(slices.Clone(ts.Pending), func(p PendingTrigger) bool {
		if p.Purpose != purpose && purpose != "*" {
			return false
		}
		c.outcome(TriggerOutcome{Rule: p.Rule, Occurrence: p.Occurrence, Status: TriggerCancelled, Reason: reason, At: at})
		return true
	})
}

// nextTriggerDue is the earliest pending due time (zero when none).
func (c *contact) nextTriggerDue() time.Time {
	var next time.Time
	if c.state.Triggers == nil {
		return next
	}
	for _, p := range c.state.Triggers.Pending {
		if next.IsZero() || p.DueAt.Before(next) {
			next = p.DueAt
		}
	}
	return next
}

// location is the contact's time zone: the one its browser reported, else its
// phone number's, else its country's main zone, else UTC.
func (c *contact) location() *time.Location {
	name := quality.TimeZone(c.state.Fields, c.state.TimeZone)
	// The zone database is embedded (time/tzdata): the same name always loads
	// the same rules in this binary.
	//workflowcheck:ignore
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// quietUntil is when the quiet hours that local falls in end (zero when
// local is outside them).
func quietUntil(local time.Time, p kith.MessagingPolicy) time.Time {
	start, err1 := time.Parse("15:04", p.QuietHours.Start)
	end, err2 := time.Parse("15:04", p.QuietHours.End)
	if err1 != nil || err2 != nil || start.Equal(end) {
		return time.Time{}
	}
	at := func(day time.Time, hm time.Time) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), hm.Hour(), hm.Minute(), 0, 0, local.Location())
	}
	s, e := at(local, start), at(local, end)
	switch {
	case s.Before(e): // a window inside one day (13:00–14:00)
		if !local.Before(s) && local.Before(e) {
			return e
		}
	case !local.Before(s): // overnight (21:00–08:00), evening part
		return at(local.AddDate(0, 0, 1), end)
	case local.Before(e): // overnight, morning part
		return e
	}
	return time.Time{}
}

// fireDue decides every pending trigger whose wait is over.
func (c *contact) fireDue(ctx workflow.Context) {
	now := workflow.Now(ctx)
	rules := c.triggerRules(ctx)
	ts := c.triggerState()
	var due []PendingTrigger
	kept := ts.Pending[:0:0]
	for _, p := range ts.Pending {
		if p.DueAt.After(now) {
			kept = append(kept, p)
		} else {
			due = append(due, p)
		}
	}
	ts.Pending = kept
	slices.SortStableFunc(due, func(a, b PendingTrigger) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	loc := c.location()
	local := now.In(loc)
	for _, p := range due {
		rule, ok := ruleNamed(rules, p.Rule)
		if !ok {
			c.outcome(TriggerOutcome{Rule: p.Rule, Occurrence: p.Occurrence, Status: TriggerCancelled, Reason: "the rule was removed", At: now})
			continue
		}
		if until := quietUntil(local, rules.Policy); !until.IsZero() && !rule.AnyHour {
			p.DueAt, p.HeldUntil = until.UTC(), until.UTC()
			ts.Pending = append(ts.Pending, p)
			continue
		}
		d := kith.Delivery{
			ID: kith.DeliveryID(c.id, rule.Name, p.Occurrence), ContactID: c.id, Rule: rule.Name, Template: rule.Template,
			Purpose: rule.Conditions.Purpose, Occurrence: p.Occurrence, Events: p.Events, Status: kith.DeliverySending, DueAt: p.DueAt,
			Segments: rule.Conditions.Segments,
		}
		day := local.Format(time.DateOnly)
		if reason := c.unmet(rule.Conditions); reason != "" {
			d.Status, d.Reason = kith.DeliverySuppressed, reason
		} else if n := c.sentOn(day, ""); n >= rules.Policy.DailyCap {
			d.Status, d.Reason = kith.DeliveryCapped, "the daily cap of "+strconv.Itoa(rules.Policy.DailyCap)+" messages was reached"
		} else if n := c.sentOn(day, rule.Name); rule.DailyCap > 0 && n >= rule.DailyCap {
			d.Status, d.Reason = kith.DeliveryCapped, "the rule's daily cap of "+strconv.Itoa(rule.DailyCap)+" was reached"
		}
		if d.Status == kith.DeliverySending {
			// Counted now, so two triggers due together respect the caps.
			ts.Sent = appendRecent(ts.Sent, TriggerSend{Rule: rule.Name, DeliveryID: d.ID, At: now, Day: day}, recentSends)
		}
		c.deliver(ctx, d)
	}
}

// sentOn counts the sends on a local day (of one rule, or of all when rule is "").
func (c *contact) sentOn(day, rule string) int {
	n := 0
	for _, s := range c.triggerState().Sent {
		if s.Day == day && (rule == "" || s.Rule == rule) {
			n++
		}
	}
	return n
}

// unmet is why the contact does not meet the conditions now ("" when it does).
// A consent the workflow has not seen (recorded by an import or a CRM before
// this workflow ran) is left to the delivery's check in PostgreSQL, which
// decides at the moment of use either way.
func (c *contact) unmet(cond kith.Conditions) string {
	if s := c.state.Consents[cond.Purpose].Status; s != "" && s != kith.ConsentGranted {
		return "consent " + cond.Purpose + " " + string(s)
	}
	if len(cond.Countries) > 0 && !slices.Contains(cond.Countries, c.state.Fields[kith.FieldCountry].Value) {
		return "country not targeted"
	}
	if c.state.Completeness < cond.MinCompleteness || (cond.MaxCompleteness > 0 && c.state.Completeness > cond.MaxCompleteness) {
		return "completeness " + strconv.Itoa(c.state.Completeness) + " outside the rule's band"
	}
	return ""
}

// deliveryOptions: the delivery runs as a local activity (in the workflow
// task that decided it: no activity task round trip through the server, which
// would triple a trigger's cost); the ESP is retried for about an hour (429
// and 5xx, after Retry-After when it says; backoffs beyond a few seconds
// become durable timers), then the delivery goes to the dead letter.
var deliveryOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Minute,
		MaximumAttempts:        12,
		NonRetryableErrorTypes: []string{activities.ErrESPRefused},
	},
}

// The delivery activities by name (local activities are looked up by name).
const (
	deliverActivity      = "Deliver"
	failDeliveryActivity = "FailDelivery"
)

// deliver runs the delivery beside the main loop (a slow ESP holds no other
// message up) and records the outcome.
func (c *contact) deliver(ctx workflow.Context, d kith.Delivery) {
	c.inflight++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { c.inflight--; c.wake.SendAsync(struct{}{}) }()
		res := runDelivery(ctx, d)
		ts := c.triggerState()
		if res.Status != kith.DeliveryAccepted {
			ts.Sent = slices.DeleteFunc(slices.Clone(ts.Sent), func(s TriggerSend) bool { return s.DeliveryID == d.ID })
		}
		c.outcome(TriggerOutcome{Rule: d.Rule, Occurrence: d.Occurrence, DeliveryID: d.ID, Status: string(res.Status), Reason: res.Reason, At: workflow.Now(ctx)})
	})
}

// runDelivery runs the delivery activity and, when its retries run out, puts
// the delivery in the dead letter; it returns what became of it.
func runDelivery(ctx workflow.Context, d kith.Delivery) activities.DeliverResult {
	var res activities.DeliverResult
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, deliveryOptions), deliverActivity, d).Get(ctx, &res)
	if err == nil {
		return res
	}
	fctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second, ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	if ferr := workflow.ExecuteLocalActivity(fctx, failDeliveryActivity, d.ID, err.Error()).Get(ctx, nil); ferr != nil {
		workflow.GetLogger(ctx).Error("delivery not put in the dead letter", "delivery", d.ID, "error", ferr)
	}
	return activities.DeliverResult{Status: kith.DeliveryFailed, Reason: err.Error()}
}

// RetryDeliveryName is the wire name of RetryDelivery.
const RetryDeliveryName = "RetryDelivery"

// RetryDeliveryID is the workflow ID of a delivery's replay.
func RetryDeliveryID(deliveryID string) string { return "retry-delivery/" + deliveryID }

// RetryDelivery sends a delivery ops took out of the dead letter (`starter
// deliveries retry`), with the same checks and retries as the first attempt:
// consent is checked again, and a delivery the ESP accepted is never sent
// twice.
func RetryDelivery(ctx workflow.Context, d kith.Delivery) (activities.DeliverResult, error) {
	return runDelivery(ctx, d), nil
}

// pendingRules are the rules with a pending trigger, sorted (the search
// attribute's value).
func (c *contact) pendingRules() []string {
	var out []string
	if c.state.Triggers != nil {
		for _, p := range c.state.Triggers.Pending {
			out = append(out, p.Rule)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ReplayDelivery takes a failed delivery out of the dead letter and runs
// RetryDelivery for it, returning what became of it; actor is who asked.
func ReplayDelivery(ctx context.Context, c client.Client, store kith.DeliveryStore, id, actor string) (activities.DeliverResult, error) {
	d, err := store.RetryDelivery(ctx, id, actor)
	if err != nil {
		return activities.DeliverResult{}, err
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: RetryDeliveryID(id), TaskQueue: TaskQueue}, RetryDeliveryName, d)
	if err != nil {
		return activities.DeliverResult{}, err
	}
	var res activities.DeliverResult
	err = run.Get(ctx, &res)
	return res, err
}

// Deliveries replays dead-lettered deliveries for the API's admins.
type Deliveries struct {
	Client client.Client
	Store  kith.DeliveryStore
}

// ReplayDelivery implements kith.DeliveryReplayer.
func (d *Deliveries) ReplayDelivery(ctx context.Context, id, actor string) (kith.DeliveryOutcome, error) {
	return ReplayDelivery(ctx, d.Client, d.Store, id, actor)
}
