package kith_test

import (
	"encoding/json"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/schemas"
)

func TestShippedTriggersLoad(t *testing.T) {
	tr, err := kith.LoadTriggers(schemas.Triggers, schemas.Messaging)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Rules) != 6 || tr.Version == "" {
		t.Errorf("%d rules, version %q; want the six shipped rules and a version", len(tr.Rules), tr.Version)
	}
}

// TestBadTriggerRulesAreNamed: every mistake names its file and field.
func TestBadTriggerRulesAreNamed(t *testing.T) {
	rules := fstest.MapFS{
		"a.json": {Data: []byte(`{"name": "b", "start": {"type": ""}, "wait": "soon", "conditions": {"purpose": "x"}, "template": ""}`)},
		"c.json": {Data: []byte(`{"name": "c", "start": {"type": "E", "where": [{"property": "p", "op": "in", "value": 1}]}, "conditions": {"purpose": "email_marketing"}, "template": "t", "extra": 1}`)},
		"d.json": {Data: []byte(`{"name": "d", "start": {"type": "E", "where": [{"property": "p", "op": "like", "value": 1}]}, "conditions": {"purpose": "email_marketing", "min_completeness": 80, "max_completeness": 20}, "template": "t"}`)},
	}
	_, err := kith.LoadTriggers(rules, schemas.Messaging)
	var ke *kith.Error
	if !errors.As(err, &ke) {
		t.Fatalf("error %v, want violations", err)
	}
	got := map[string]bool{}
	for _, v := range ke.Violations {
		got[v.Field] = true
	}
	for _, want := range []string{"a.json", "c.json", "d.json.start.where.0", "d.json.conditions"} {
		if !got[want] {
			t.Errorf("no violation on %s in %+v", want, ke.Violations)
		}
	}
	rules["a.json"] = &fstest.MapFile{Data: []byte(`{"name": "b", "start": {"type": ""}, "conditions": {"purpose": "x"}, "template": ""}`)}
	_, err = kith.LoadTriggers(rules, schemas.Messaging)
	errors.As(err, &ke)
	got = map[string]bool{}
	for _, v := range ke.Violations {
		got[v.Field] = true
	}
	for _, want := range []string{"a.json.name", "a.json.start.type", "a.json.template", "a.json.conditions.purpose"} {
		if !got[want] {
			t.Errorf("no violation on %s in %+v", want, ke.Violations)
		}
	}
}

func TestEventMatch(t *testing.T) {
	m := kith.EventMatch{Type: "Order Completed", Where: []kith.Predicate{
		{Property: "total", Op: "gt", Value: 20.0},
		{Property: "shipping.country", Op: "in", Value: []any{"FR", "DE"}},
	}}
	for _, tc := range []struct {
		typ, props string
		want       bool
	}{
		{"Order Completed", `{"total": 25, "shipping": {"country": "FR"}}`, true},
		{"Order Completed", `{"total": 20, "shipping": {"country": "FR"}}`, false},
		{"Order Completed", `{"total": "25", "shipping": {"country": "FR"}}`, false},
		{"Order Completed", `{"total": 25, "shipping": {"country": "US"}}`, false},
		{"Order Completed", `{"total": 25}`, false},
		{"Product Viewed", `{"total": 25, "shipping": {"country": "FR"}}`, false},
		{"Order Completed", `not json`, false},
	} {
		if got := m.Matches(tc.typ, json.RawMessage(tc.props)); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.typ, tc.props, got, tc.want)
		}
	}
	if d, err := kith.ParseDuration("1d12h"); err != nil || d.Hours() != 36 {
		t.Errorf("1d12h = %v (%v)", d, err)
	}
}
