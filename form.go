package kith

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Form is a progressive-profiling form definition (schemas/forms/<id>.json): the
// steps a visitor walks through, how many new fields to ask per visit, and the
// consent purposes it collects.
type Form struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// FieldsPerVisit is how many fields not yet known are asked at one visit.
	FieldsPerVisit int           `json:"fields_per_visit"`
	Steps          []FormStep    `json:"steps"`
	Consents       []FormConsent `json:"consents"`
}

// FormStep is one page of a form.
type FormStep struct {
	ID     string      `json:"id"`
	Title  string      `json:"title"`
	Fields []FormField `json:"fields"`
}

// FormField is one question. Its validation rules are the field's rules in
// quality; Priority orders what is asked first (default: its completeness weight).
type FormField struct {
	Field    Field   `json:"field"`
	Label    string  `json:"label"`
	Input    string  `json:"input"` // HTML input type: email, tel, date, text
	Required bool    `json:"required,omitempty"`
	Priority float64 `json:"priority,omitempty"`
}

// FormConsent is a consent purpose with the exact text shown and its version.
type FormConsent struct {
	Purpose     string `json:"purpose"`
	Text        string `json:"text"`
	Version     string `json:"version"`
	Required    bool   `json:"required,omitempty"`      // a submission without it is refused
	DoubleOptIn bool   `json:"double_opt_in,omitempty"` // confirmed by a link before it counts
}

var formID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

var inputTypes = []string{"email", "tel", "date", "text", "number"}

// Validate reports every problem in a form definition.
func (f *Form) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if !formID.MatchString(f.ID) {
		bad("id %q must be lower-case letters, digits, - or _", f.ID)
	}
	if f.FieldsPerVisit < 1 {
		bad("fields_per_visit must be at least 1")
	}
	if len(f.Steps) == 0 {
		bad("needs at least one step")
	}
	seen := map[Field]bool{}
	for i, s := range f.Steps {
		if s.ID == "" || len(s.Fields) == 0 {
			bad("step %d needs an id and at least one field", i+1)
		}
		for _, ff := range s.Fields {
			if _, ok := ParseField(string(ff.Field)); !ok {
				bad("step %q: %q is not a profile field", s.ID, ff.Field)
			}
			if seen[ff.Field] {
				bad("step %q: %q is asked twice", s.ID, ff.Field)
			}
			seen[ff.Field] = true
			if ff.Label == "" || !slices.Contains(inputTypes, ff.Input) {
				bad("step %q: %q needs a label and an input type (%s)", s.ID, ff.Field, strings.Join(inputTypes, ", "))
			}
			if ff.Priority < 0 {
				bad("step %q: %q has a negative priority", s.ID, ff.Field)
			}
		}
	}
	purposes := map[string]bool{}
	for _, c := range f.Consents {
		if !formID.MatchString(c.Purpose) || c.Text == "" || c.Version == "" {
			bad("consent %q needs a purpose name, its exact text and a version", c.Purpose)
		}
		if purposes[c.Purpose] {
			bad("consent %q is listed twice", c.Purpose)
		}
		purposes[c.Purpose] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("form %q: %s", f.ID, strings.Join(errs, "; "))
	}
	return nil
}

// Field returns the question for field, if the form asks it.
func (f *Form) Field(field Field) (FormField, string, bool) {
	for _, s := range f.Steps {
		for _, ff := range s.Fields {
			if ff.Field == field {
				return ff, s.ID, true
			}
		}
	}
	return FormField{}, "", false
}

// Consent returns the form's consent purpose, if it has it.
func (f *Form) Consent(purpose string) (FormConsent, bool) {
	i := slices.IndexFunc(f.Consents, func(c FormConsent) bool { return c.Purpose == purpose })
	if i < 0 {
		return FormConsent{}, false
	}
	return f.Consents[i], true
}

// NextStep is what to ask at a visit: the steps with only the fields to ask now,
// and the consents not currently given.
type NextStep struct {
	Form     string        `json:"form"`
	Steps    []FormStep    `json:"steps"`
	Consents []FormConsent `json:"consents"`
	Complete bool          `json:"complete"` // every field of the form is known
}

// Next chooses what to ask a visitor who already gave known (with provenance) and
// the consents in given: up to FieldsPerVisit fields, required ones first, then by
// priority, never a field already known with a provided value (an imputed value
// is asked, to be confirmed). The chosen fields keep their step order.
func (f *Form) Next(known map[Field]Value, given map[string]bool) NextStep {
	type cand struct {
		ff       FormField
		step, at int
	}
	var cands []cand
	at := 0
	for si, s := range f.Steps {
		for _, ff := range s.Fields {
			at++
			if v, ok := known[ff.Field]; ok && v.Value != "" && !v.Imputed {
				continue
			}
			cands = append(cands, cand{ff, si, at})
		}
	}
	out := NextStep{Form: f.ID, Complete: len(cands) == 0}
	slices.SortStableFunc(cands, func(a, b cand) int {
		if a.ff.Required != b.ff.Required {
			if a.ff.Required {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.ff.Priority, a.ff.Priority), cmp.Compare(a.at, b.at))
	})
	cands = cands[:min(len(cands), f.FieldsPerVisit)]
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.at, b.at) })
	for _, c := range cands {
		s := f.Steps[c.step]
		if n := len(out.Steps); n == 0 || out.Steps[n-1].ID != s.ID {
			out.Steps = append(out.Steps, FormStep{ID: s.ID, Title: s.Title})
		}
		last := &out.Steps[len(out.Steps)-1]
		last.Fields = append(last.Fields, c.ff)
	}
	for _, c := range f.Consents {
		if !given[c.Purpose] {
			out.Consents = append(out.Consents, c)
		}
	}
	return out
}

// LoadForms reads every *.json form definition in fsys, fills each field's
// default priority from priority (the completeness weights) and validates them.
func LoadForms(fsys fs.FS, priority func(Field) float64) (map[string]*Form, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	forms := map[string]*Form{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f := &Form{}
		if err := json.Unmarshal(b, f); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); f.ID != want {
			return nil, fmt.Errorf("%s: id %q must match the file name", name, f.ID)
		}
		for si := range f.Steps {
			for fi := range f.Steps[si].Fields {
				if ff := &f.Steps[si].Fields[fi]; ff.Priority == 0 && priority != nil {
					ff.Priority = priority(ff.Field)
				}
			}
		}
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		forms[f.ID] = f
	}
	return forms, nil
}
