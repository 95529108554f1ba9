package kith

import (
	"slices"
	"time"
)

// Field names one profile attribute of a contact. The string is the column name in
// PostgreSQL and BigQuery and the key in provenance maps, so it never changes.
type Field string

// The profile fields of the canonical model.
const (
	FieldEmail      Field = "email"
	FieldPhone      Field = "phone"           // E.164
	FieldPhoneType  Field = "phone_type"      // mobile, fixed_line, … (derived from phone)
	FieldPhoneExt   Field = "phone_extension" // kept apart from the E.164 number
	FieldFirstName  Field = "first_name"
	FieldLastName   Field = "last_name"
	FieldBirthDate  Field = "birth_date" // YYYY-MM-DD
	FieldAge        Field = "age"        // years; kept when no birth date is known
	FieldCountry    Field = "country"
	FieldCity       Field = "city"
	FieldPostalCode Field = "postal_code"
)

// ProfileFields lists every profile field in a fixed order; code that walks the
// fields uses it so that results never depend on map order.
var ProfileFields = []Field{
	FieldEmail, FieldPhone, FieldPhoneType, FieldPhoneExt, FieldFirstName, FieldLastName,
	FieldBirthDate, FieldAge, FieldCountry, FieldCity, FieldPostalCode,
}

// ParseField reports whether name is a profile field.
func ParseField(name string) (Field, bool) {
	f := Field(name)
	return f, slices.Contains(ProfileFields, f)
}

// Source says where a value came from. It ranks sources for survivorship.
type Source string

// The sources Kith collects from.
const (
	SourceCRM     Source = "crm"
	SourceForm    Source = "form"
	SourceTracker Source = "tracker"
	SourceImport  Source = "import"
	SourceImputed Source = "imputed"
)

// Provenance records where and when a field's value was observed, and whether it
// was imputed rather than provided.
type Provenance struct {
	Source     Source    `json:"source"`
	Ref        string    `json:"ref,omitempty"` // e.g. import id + row, form submission id
	At         time.Time `json:"at"`
	Imputed    bool      `json:"imputed,omitempty"`
	Method     string    `json:"method,omitempty"`     // imputation method, when Imputed
	Confidence float64   `json:"confidence,omitempty"` // imputation confidence 0..1, when Imputed
}

// Value is one field's value with its provenance.
type Value struct {
	Value string `json:"value"`
	Provenance
}

// Contact is the canonical customer profile. ID is opaque (never an email or phone),
// so it is safe in workflow IDs, logs and search attributes.
type Contact struct {
	ID        string          `json:"id"`
	Fields    map[Field]Value `json:"fields"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Get returns the value of f, or "" when it is unknown.
func (c *Contact) Get(f Field) string { return c.Fields[f].Value }

// Merge applies the non-empty fields of in to c and returns the fields that changed,
// in ProfileFields order. The rules, per field:
//   - an empty incoming value never erases a known one;
//   - an imputed value never overwrites a provided one;
//   - a provided value always replaces an imputed one;
//   - otherwise the later observation wins, and an equal value changes nothing
//     (so applying the same input twice is a no-op).
func (c *Contact) Merge(in map[Field]Value) []Field {
	if c.Fields == nil {
		c.Fields = make(map[Field]Value, len(in))
	}
	var changed []Field
	for _, f := range ProfileFields {
		nv, ok := in[f]
		if !ok || nv.Value == "" {
			continue
		}
		if takes(c.Fields[f], nv) {
			c.Fields[f] = nv
			changed = append(changed, f)
		}
	}
	return changed
}

func takes(old, nv Value) bool {
	switch {
	case old.Value == "":
		return true
	case nv.Imputed && !old.Imputed:
		return false
	case !nv.Imputed && old.Imputed:
		return true
	case nv.Value == old.Value:
		return false
	default:
		return !nv.At.Before(old.At)
	}
}
