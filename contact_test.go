package kith_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kithhq/kith"
)

func TestContactMerge(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	provided := func(v string, at time.Time) kith.Value {
		return kith.Value{Value: v, Provenance: kith.Provenance{Source: kith.SourceForm, At: at}}
	}
	imputed := func(v string, at time.Time) kith.Value {
		return kith.Value{Value: v, Provenance: kith.Provenance{Source: kith.SourceImputed, At: at, Imputed: true, Method: "median", Confidence: 0.5}}
	}
	tests := []struct {
		name    string
		old     map[kith.Field]kith.Value
		in      map[kith.Field]kith.Value
		want    string
		changed bool
	}{
		{"fills an unknown field", nil, map[kith.Field]kith.Value{kith.FieldCity: provided("Oslo", t0)}, "Oslo", true},
		{"empty never erases", map[kith.Field]kith.Value{kith.FieldCity: provided("Oslo", t0)}, map[kith.Field]kith.Value{kith.FieldCity: provided("", t1)}, "Oslo", false},
		{"later provided wins", map[kith.Field]kith.Value{kith.FieldCity: provided("Oslo", t0)}, map[kith.Field]kith.Value{kith.FieldCity: provided("Bergen", t1)}, "Bergen", true},
		{"older provided loses", map[kith.Field]kith.Value{kith.FieldCity: provided("Oslo", t1)}, map[kith.Field]kith.Value{kith.FieldCity: provided("Bergen", t0)}, "Oslo", false},
		{"same value is a no-op", map[kith.Field]kith.Value{kith.FieldCity: provided("Oslo", t0)}, map[kith.Field]kith.Value{kith.FieldCity: provided("Oslo", t1)}, "Oslo", false},
		{"imputed never overwrites provided", map[kith.Field]kith.Value{kith.FieldCity: provided("Oslo", t0)}, map[kith.Field]kith.Value{kith.FieldCity: imputed("Bergen", t1)}, "Oslo", false},
		{"provided replaces imputed even if older", map[kith.Field]kith.Value{kith.FieldCity: imputed("Oslo", t1)}, map[kith.Field]kith.Value{kith.FieldCity: provided("Bergen", t0)}, "Bergen", true},
		{"imputed fills a gap", nil, map[kith.Field]kith.Value{kith.FieldCity: imputed("Oslo", t0)}, "Oslo", true},
		{"later imputed replaces imputed", map[kith.Field]kith.Value{kith.FieldCity: imputed("Oslo", t0)}, map[kith.Field]kith.Value{kith.FieldCity: imputed("Bergen", t1)}, "Bergen", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := kith.Contact{Fields: map[kith.Field]kith.Value{}}
			for f, v := range tt.old {
				c.Fields[f] = v
			}
			changed := c.Merge(tt.in)
			if got := c.Get(kith.FieldCity); got != tt.want {
				t.Errorf("city = %q, want %q", got, tt.want)
			}
			if got := slices.Contains(changed, kith.FieldCity); got != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			// Merging the same input again never changes anything.
			if again := c.Merge(tt.in); len(again) != 0 {
				t.Errorf("second merge changed %v", again)
			}
		})
	}
}

func TestContactMergeKeepsProvenance(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	var c kith.Contact
	c.Merge(map[kith.Field]kith.Value{
		kith.FieldEmail: {Value: "a@example.com", Provenance: kith.Provenance{Source: kith.SourceImport, Ref: "f:row:1", At: at}},
	})
	got := c.Fields[kith.FieldEmail]
	if got.Source != kith.SourceImport || got.Ref != "f:row:1" || !got.At.Equal(at) || got.Imputed {
		t.Errorf("provenance = %+v", got.Provenance)
	}
}

func TestViolationsSplit(t *testing.T) {
	vs := kith.Violations{
		{Field: "email", Code: "a", Severity: kith.SeverityWarn}, {Field: "phone", Code: "b", Severity: kith.SeverityReject},
		{Field: "age", Code: "c", Severity: kith.SeverityReject}, {Field: "email", Code: "d", Severity: kith.SeverityWarn},
	}
	rejects, warnings := vs.Split()
	if len(rejects) != 2 || rejects[0].Code != "b" || rejects[1].Code != "c" || len(warnings) != 2 || warnings[0].Code != "a" || warnings[1].Code != "d" {
		t.Fatalf("rejects %v, warnings %v", rejects, warnings)
	}
}
