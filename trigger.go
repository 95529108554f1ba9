package kith

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TriggerRule is one personalization trigger (schemas/triggers/<name>.json): an
// event starts it, it waits, events during the wait can cancel it, and when the
// wait is over the contact gets the template if the conditions hold then.
type TriggerRule struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Start       EventMatch   `json:"start"`
	Wait        Duration     `json:"wait,omitempty"`
	CancelIf    []EventMatch `json:"cancel_if,omitempty"`
	Conditions  Conditions   `json:"conditions"`
	// Reeligible is how long after a send the rule may send to the contact again
	// (zero: every start sends).
	Reeligible Duration `json:"reeligible,omitempty"`
	// DailyCap bounds this rule's sends per contact per local calendar day (zero:
	// only the policy's cap).
	DailyCap int `json:"daily_cap,omitempty"`
	// AnyHour sends even in quiet hours: for a reply to what the person just
	// did (a welcome right after the confirmation), not for marketing.
	AnyHour  bool   `json:"any_hour,omitempty"`
	Template string `json:"template"`
}

// EventMatch selects events by type and by predicates on their properties.
type EventMatch struct {
	Type  string      `json:"type"`
	Where []Predicate `json:"where,omitempty"`
}

// Predicate tests one property (a dotted path into the event's properties).
type Predicate struct {
	Property string `json:"property"`
	// Op is eq, neq, in, exists, gt, gte, lt or lte.
	Op    string `json:"op"`
	Value any    `json:"value,omitempty"`
}

// Conditions are what the contact must be when the message is due.
type Conditions struct {
	// Purpose is the consent purpose the message is sent under; it must be
	// granted (confirmed, when its form asks for double opt-in) at send time.
	Purpose   string   `json:"purpose"`
	Countries []string `json:"countries,omitempty"` // ISO codes; empty: any
	// MinCompleteness and MaxCompleteness bound the completeness score (0–100;
	// zero Max: no upper bound).
	MinCompleteness int      `json:"min_completeness,omitempty"`
	MaxCompleteness int      `json:"max_completeness,omitempty"`
	Segments        []string `json:"segments,omitempty"` // RFM segments; empty: any
}

// MessagingPolicy holds what every trigger obeys (schemas/messaging.json).
type MessagingPolicy struct {
	// DailyCap bounds the triggered messages a contact gets per local calendar day.
	DailyCap int `json:"daily_cap"`
	// QuietHours hold a message due inside them until they end, in the contact's
	// local time ("21:00" to "08:00").
	QuietHours struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"quiet_hours"`
	// PurposeFields are the profile fields a message sent under a purpose may
	// carry; a field not listed never leaves Kith in a payload.
	PurposeFields map[string][]Field `json:"purpose_fields"`
}

// Triggers are the rules and the policy a contact's workflow decides with,
// with a Version that changes whenever either does.
type Triggers struct {
	Rules   []TriggerRule   `json:"rules"`
	Policy  MessagingPolicy `json:"policy"`
	Version string          `json:"version"`
}

// Duration is a time.Duration written as Go writes it ("30m", "36h") or in
// days ("7d").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "30m", "36h", "7d" or "1d12h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30m\", \"36h\" or \"7d\"")
	}
	v, err := ParseDuration(s)
	*d = Duration(v)
	return err
}

var daysPrefix = regexp.MustCompile(`^(\d+)d`)

// ParseDuration reads a duration with an optional leading number of days.
func ParseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if m := daysPrefix.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		days, s = time.Duration(n)*24*time.Hour, s[len(m[0]):]
	}
	if s == "" {
		return days, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration such as \"30m\", \"36h\" or \"7d\"", s)
	}
	return days + v, nil
}

var ruleName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// LoadTriggers reads every rule in rules (<name>.json, one rule each) and the
// policy, and checks them: every mistake is reported with its file and field.
func LoadTriggers(rules fs.FS, policy []byte) (Triggers, error) {
	var t Triggers
	var vs Violations
	if err := strictJSON(policy, &t.Policy); err != nil {
		vs = append(vs, Violation{Field: "messaging.json", Code: "invalid", Message: err.Error()})
	}
	vs = append(vs, t.Policy.check()...)
	files, err := fs.Glob(rules, "*.json")
	if err != nil {
		return t, err
	}
	for _, f := range files {
		b, err := fs.ReadFile(rules, f)
		if err != nil {
			return t, err
		}
		var r TriggerRule
		if err := strictJSON(b, &r); err != nil {
			vs = append(vs, Violation{Field: f, Code: "invalid", Message: err.Error()})
			continue
		}
		if want := strings.TrimSuffix(path.Base(f), ".json"); r.Name != want {
			vs = append(vs, Violation{Field: f + ".name", Code: "invalid", Message: fmt.Sprintf("must be %q, the file's name", want)})
		}
		for _, v := range r.check(t.Policy) {
			v.Field = f + "." + v.Field
			vs = append(vs, v)
		}
		t.Rules = append(t.Rules, r)
	}
	if len(vs) > 0 {
		return Triggers{}, &Error{Code: CodeInvalid, Message: "the trigger rules need fixing", Violations: vs}
	}
	sum := sha256.New()
	canon, _ := json.Marshal(struct {
		R []TriggerRule
		P MessagingPolicy
	}{t.Rules, t.Policy})
	sum.Write(canon)
	t.Version = hex.EncodeToString(sum.Sum(nil))[:16]
	return t, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var predicateOps = []string{"eq", "neq", "in", "exists", "gt", "gte", "lt", "lte"}

func (r TriggerRule) check(p MessagingPolicy) Violations {
	var vs Violations
	bad := func(field, msg string) { vs = append(vs, Violation{Field: field, Code: "invalid", Message: msg}) }
	if !ruleName.MatchString(r.Name) {
		bad("name", "must be lower-case letters, digits and underscores")
	}
	if r.Template == "" {
		bad("template", "names the ESP template to send")
	}
	if r.Conditions.Purpose == "" {
		bad("conditions.purpose", "names the consent purpose the message is sent under")
	} else if _, ok := p.PurposeFields[r.Conditions.Purpose]; !ok {
		bad("conditions.purpose", fmt.Sprintf("%q has no purpose_fields in messaging.json", r.Conditions.Purpose))
	}
	if c := r.Conditions; c.MinCompleteness < 0 || c.MaxCompleteness < 0 || c.MinCompleteness > 100 || c.MaxCompleteness > 100 ||
		(c.MaxCompleteness > 0 && c.MaxCompleteness < c.MinCompleteness) {
		bad("conditions", "completeness bounds are 0–100 with min ≤ max")
	}
	if r.Wait < 0 || r.Reeligible < 0 || r.DailyCap < 0 {
		bad("wait", "durations and caps are not negative")
	}
	matches := append([]EventMatch{r.Start}, r.CancelIf...)
	for i, m := range matches {
		at := "start"
		if i > 0 {
			at = fmt.Sprintf("cancel_if.%d", i-1)
		}
		if m.Type == "" {
			bad(at+".type", "names an event type")
		}
		for j, pr := range m.Where {
			if pr.Property == "" || !slices.Contains(predicateOps, pr.Op) {
				bad(fmt.Sprintf("%s.where.%d", at, j), "needs a property and an op: "+strings.Join(predicateOps, ", "))
			}
			if _, isList := pr.Value.([]any); (pr.Op == "in") != isList {
				bad(fmt.Sprintf("%s.where.%d.value", at, j), "is a list for in, a single value otherwise")
			}
		}
	}
	return vs
}

func (p MessagingPolicy) check() Violations {
	var vs Violations
	if p.DailyCap <= 0 {
		vs = append(vs, Violation{Field: "messaging.json.daily_cap", Code: "invalid", Message: "must be at least 1"})
	}
	for _, s := range []string{p.QuietHours.Start, p.QuietHours.End} {
		if _, err := time.Parse("15:04", s); err != nil {
			vs = append(vs, Violation{Field: "messaging.json.quiet_hours", Code: "invalid", Message: "start and end are HH:MM"})
			break
		}
	}
	for _, purpose := range SortedKeys(p.PurposeFields) {
		for _, f := range p.PurposeFields[purpose] {
			if _, ok := ParseField(string(f)); !ok {
				vs = append(vs, Violation{Field: "messaging.json.purpose_fields." + purpose, Code: "invalid", Message: fmt.Sprintf("%q is not a profile field", f)})
			}
		}
	}
	return vs
}

// Matches reports whether an event of this type with these properties (a JSON
// object, possibly empty) is one the match selects.
func (m EventMatch) Matches(eventType string, properties json.RawMessage) bool {
	if eventType != m.Type {
		return false
	}
	if len(m.Where) == 0 {
		return true
	}
	var props map[string]any
	if len(properties) > 0 {
		dec := json.NewDecoder(bytes.NewReader(properties))
		dec.UseNumber()
		// Decoded into a map that is only looked up, never walked: the same
		// properties always match the same way (workflows call Matches).
		//workflowcheck:ignore
		if dec.Decode(&props) != nil {
			return false
		}
	}
	for _, p := range m.Where {
		if !p.holds(lookup(props, p.Property)) {
			return false
		}
	}
	return true
}

func lookup(props map[string]any, dotted string) any {
	var cur any = props
	for part := range strings.SplitSeq(dotted, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func (p Predicate) holds(v any) bool {
	switch p.Op {
	case "exists":
		return v != nil
	case "eq":
		return same(v, p.Value)
	case "neq":
		return !same(v, p.Value)
	case "in":
		list, _ := p.Value.([]any)
		return slices.ContainsFunc(list, func(x any) bool { return same(v, x) })
	}
	a, okA := number(v)
	b, okB := number(p.Value)
	if !okA || !okB {
		return false
	}
	switch p.Op {
	case "gt":
		return a > b
	case "gte":
		return a >= b
	case "lt":
		return a < b
	case "lte":
		return a <= b
	}
	return false
}

// same compares a property with a rule's value: numbers by value, anything
// else by its JSON text.
func same(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	// Marshal writes a map's keys sorted: the same values give the same text.
	//workflowcheck:ignore
	ja, _ := json.Marshal(a)
	//workflowcheck:ignore
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}
