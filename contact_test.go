package kith_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

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
		{"provided confirms an equal imputed", map[kith.Field]kith.Value{kith.FieldCity: imputed("Oslo", t1)}, map[kith.Field]kith.Value{kith.FieldCity: provided("Oslo", t0)}, "Oslo", true},
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
			if in := tt.in[kith.FieldCity]; in.Value == tt.want && c.Fields[kith.FieldCity].Imputed != in.Imputed {
				t.Errorf("kept imputed=%v, want the incoming provenance", c.Fields[kith.FieldCity].Imputed)
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

// TestOneSurvivorshipRule: a stored CRM value is not replaced by a later import of
// an older spelling; the contact merge and the de-duplication's golden record
// decide by the same rule (kith.Prefer).
func TestOneSurvivorshipRule(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	crm := kith.Value{Value: "Katherine", Provenance: kith.Provenance{Source: kith.SourceCRM, Ref: "hubspot/1", At: t0}}
	imp := kith.Value{Value: "Kathrine", Provenance: kith.Provenance{Source: kith.SourceImport, Ref: "list.csv:row:7", At: t0.Add(24 * time.Hour)}}
	c := kith.Contact{Fields: map[kith.Field]kith.Value{kith.FieldFirstName: crm}}
	if changed := c.Merge(map[kith.Field]kith.Value{kith.FieldFirstName: imp}); len(changed) != 0 || c.Get(kith.FieldFirstName) != "Katherine" {
		t.Errorf("a later import replaced the CRM's value: %q (changed %v)", c.Get(kith.FieldFirstName), changed)
	}
	newer := kith.Value{Value: "Kate", Provenance: kith.Provenance{Source: kith.SourceCRM, Ref: "hubspot/1", At: t0.Add(time.Hour)}}
	if changed := c.Merge(map[kith.Field]kith.Value{kith.FieldFirstName: newer}); len(changed) != 1 || c.Get(kith.FieldFirstName) != "Kate" {
		t.Errorf("a newer value from the same source did not win: %q", c.Get(kith.FieldFirstName))
	}
	for _, tc := range []struct {
		a, b kith.Value
		want int
	}{
		{crm, imp, 1}, {imp, crm, -1}, {newer, crm, 1}, {crm, crm, 0},
		{imp, kith.Value{Value: "Kat", Provenance: kith.Provenance{Source: kith.SourceImputed, Imputed: true, At: t0.Add(48 * time.Hour)}}, 1},
	} {
		if got := kith.Prefer(tc.a, tc.b); got != tc.want {
			t.Errorf("Prefer(%s from %s, %s from %s) = %d, want %d", tc.a.Value, tc.a.Source, tc.b.Value, tc.b.Source, got, tc.want)
		}
	}
}

func TestNewContactIDsAreTimeOrdered(t *testing.T) {
	var last string
	for i := range 1000 {
		id := kith.NewContactID()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 {
			t.Fatalf("id %d, %q, is not a UUIDv7 (%v)", i, id, err)
		}
		if id <= last {
			t.Fatalf("id %d, %s, sorts before the id made before it, %s", i, id, last)
		}
		last = id
	}
}
