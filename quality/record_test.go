package quality_test

import (
	"testing"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

func TestStandardize(t *testing.T) {
	tests := []struct {
		name  string
		in    map[kith.Field]string
		want  map[kith.Field]string
		codes []string
	}{
		{"trims and lower-cases email", map[kith.Field]string{"email": "  Ada@Example.COM "}, map[kith.Field]string{"email": "ada@example.com"}, nil},
		{"collapses inner spaces", map[kith.Field]string{"first_name": "  Mary   Ann "}, map[kith.Field]string{"first_name": "Mary Ann"}, nil},
		{"drops empty values", map[kith.Field]string{"city": "   "}, map[kith.Field]string{}, nil},
		{"upper-cases country", map[kith.Field]string{"country": "no"}, map[kith.Field]string{"country": "NO"}, nil},
		{"rejects a country name", map[kith.Field]string{"country": "Norway"}, map[kith.Field]string{}, []string{"invalid_country"}},
		{"keeps an ISO date", map[kith.Field]string{"birth_date": "1990-12-10"}, map[kith.Field]string{"birth_date": "1990-12-10"}, nil},
		{"rejects an impossible date", map[kith.Field]string{"birth_date": "1990-02-30"}, map[kith.Field]string{}, []string{"invalid_date"}},
		{"rejects no at", map[kith.Field]string{"email": "ada.example.com"}, map[kith.Field]string{}, []string{"invalid_email"}},
		{"rejects two ats", map[kith.Field]string{"email": "a@@example.com"}, map[kith.Field]string{}, []string{"invalid_email"}},
		{"rejects an undotted domain", map[kith.Field]string{"email": "a@localhost"}, map[kith.Field]string{}, []string{"invalid_email_domain"}},
		{"rejects a long local part", map[kith.Field]string{"email": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com"}, map[kith.Field]string{}, []string{"email_too_long"}},
		{"rejects invalid UTF-8", map[kith.Field]string{"last_name": "O\xffNeil"}, map[kith.Field]string{}, []string{"not_utf8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, vs := quality.Standardize(tt.in)
			if len(got) != len(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for f, v := range tt.want {
				if got[f] != v {
					t.Errorf("%s = %q, want %q", f, got[f], v)
				}
			}
			if len(vs) != len(tt.codes) {
				t.Fatalf("violations = %v, want codes %v", vs, tt.codes)
			}
			for i, c := range tt.codes {
				if vs[i].Code != c || vs[i].Severity != kith.SeverityReject || vs[i].Message == "" {
					t.Errorf("violation %d = %+v, want code %s", i, vs[i], c)
				}
			}
			// Standardizing a standardized record changes nothing.
			again, vs2 := quality.Standardize(got)
			if len(vs2) != 0 || len(again) != len(got) {
				t.Errorf("second pass: %v %v", again, vs2)
			}
			for f, v := range got {
				if again[f] != v {
					t.Errorf("second pass %s = %q, want %q", f, again[f], v)
				}
			}
		})
	}
}
