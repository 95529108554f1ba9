package kith_test

import (
	"testing"
	"testing/fstest"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/schemas"
)

func fieldsOf(n kith.NextStep) []kith.Field {
	var out []kith.Field
	for _, s := range n.Steps {
		for _, f := range s.Fields {
			out = append(out, f.Field)
		}
	}
	return out
}

func weights(f kith.Field) float64 {
	return map[kith.Field]float64{"email": 25, "phone": 15, "birth_date": 15, "first_name": 10, "last_name": 10, "country": 10, "city": 8, "postal_code": 7}[f]
}

func TestNextAsksNewFieldsByPriority(t *testing.T) {
	forms, err := kith.LoadForms(schemas.Forms, weights)
	if err != nil {
		t.Fatal(err)
	}
	f := forms["profile"]
	provided := func(v string) kith.Value {
		return kith.Value{Value: v, Provenance: kith.Provenance{Source: kith.SourceForm}}
	}
	imputed := kith.Value{Value: "40", Provenance: kith.Provenance{Source: kith.SourceImputed, Imputed: true}}
	for _, tc := range []struct {
		name  string
		known map[kith.Field]kith.Value
		want  []kith.Field
	}{
		{"new visitor: required first, then by weight, in step order", nil, []kith.Field{"email", "phone", "birth_date"}},
		{"second visit", map[kith.Field]kith.Value{"email": provided("a@b.co"), "phone": provided("+4741234567"), "birth_date": provided("1990-01-01")},
			[]kith.Field{"first_name", "last_name", "country"}},
		{"an imputed value is asked again", map[kith.Field]kith.Value{"email": provided("a@b.co"), "birth_date": {Value: "1986-01-01", Provenance: imputed.Provenance}},
			[]kith.Field{"first_name", "phone", "birth_date"}},
		{"ties keep the form's order", map[kith.Field]kith.Value{"email": provided("a@b.co"), "phone": provided("1"), "birth_date": provided("1"), "first_name": provided("A")},
			[]kith.Field{"last_name", "country", "city"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fieldsOf(f.Next(tc.known, nil))
			if len(got) != len(tc.want) {
				t.Fatalf("asked %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("asked %v, want %v", got, tc.want)
				}
			}
		})
	}
	all := map[kith.Field]kith.Value{}
	for _, s := range f.Steps {
		for _, ff := range s.Fields {
			all[ff.Field] = provided("x")
		}
	}
	if n := f.Next(all, map[string]bool{"personalization": true}); !n.Complete || len(n.Steps) != 0 || len(n.Consents) != 1 || n.Consents[0].Purpose != "email_marketing" {
		t.Errorf("everything known: %+v", n)
	}
}

func TestLoadFormsRefusesBadDefinitions(t *testing.T) {
	for name, body := range map[string]string{
		"unknown field":   `{"id":"x","fields_per_visit":1,"steps":[{"id":"a","fields":[{"field":"shoe_size","label":"S","input":"text"}]}]}`,
		"asked twice":     `{"id":"x","fields_per_visit":1,"steps":[{"id":"a","fields":[{"field":"email","label":"E","input":"email"},{"field":"email","label":"E","input":"email"}]}]}`,
		"no per visit":    `{"id":"x","steps":[{"id":"a","fields":[{"field":"email","label":"E","input":"email"}]}]}`,
		"consent no text": `{"id":"x","fields_per_visit":1,"steps":[{"id":"a","fields":[{"field":"email","label":"E","input":"email"}]}],"consents":[{"purpose":"p","version":"1"}]}`,
		"id not file":     `{"id":"y","fields_per_visit":1,"steps":[{"id":"a","fields":[{"field":"email","label":"E","input":"email"}]}]}`,
	} {
		if _, err := kith.LoadForms(fstest.MapFS{"x.json": {Data: []byte(body)}}, nil); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
