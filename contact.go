package kith

import (
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"
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
	// FieldAddress is the street address: street and number, further lines
	// (a flat, a building) joined by ", ". Personal data: it stays out of BigQuery.
	FieldAddress Field = "address"
)

// ProfileFields lists every profile field in a fixed order; code that walks the
// fields uses it so that results never depend on map order.
var ProfileFields = []Field{
	FieldEmail, FieldPhone, FieldPhoneType, FieldPhoneExt, FieldFirstName, FieldLastName,
	FieldBirthDate, FieldAge, FieldCountry, FieldCity, FieldPostalCode, FieldAddress,
}

// ParseField reports whether name is a profile field.
func ParseField(name string) (Field, bool) {
	f := Field(name)
	return f, slices.Contains(ProfileFields, f)
}

// Source says where a value came from. Its Rank orders sources for
// survivorship (see Prefer).
type Source string

// The sources Kith collects from.
const (
	SourceCRM     Source = "crm"
	SourceForm    Source = "form"
	SourceTracker Source = "tracker"
	SourceImport  Source = "import"
	SourceImputed Source = "imputed"
	// SourceCleaning is not a source of values: it marks what the scheduled
	// cleaning refused when it re-checked stored contacts (quarantine).
	SourceCleaning Source = "cleaning"
	// SourceESP is the email service provider's event webhook: engagement
	// events, and the consent withdrawals its bounces, spam reports and
	// unsubscribes mean. It is not a source of profile values.
	SourceESP Source = "esp"
)

// Rank is how far a source is trusted for a profile value: the CRM (the sales
// team's system of record) over a form (the person, unverified) over an import (a
// list of unknown age) over the tracker over an imputed guess.
func (s Source) Rank() int {
	switch s {
	case SourceCRM:
		return 4
	case SourceForm:
		return 3
	case SourceImport:
		return 2
	case SourceTracker:
		return 1
	}
	return 0
}

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

// NewContactID makes a new contact's id: a UUIDv7, whose first bits are the
// time it was made. Contacts made together get neighbouring ids, so their rows
// and index entries sit together in every table keyed by contact id (a B-tree
// grows at its end instead of splitting pages all over it), and a read of
// contacts in id order reads the tables roughly in the order they were
// written. The id stays opaque: it says when the contact was made, nothing of
// who it is.
func NewContactID() string {
	return uuid.Must(uuid.NewV7()).String()
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

// Merge applies the non-empty fields of in to c and returns the fields that
// changed, in ProfileFields order. A value replaces the stored one when Prefer
// ranks it at least as high; an equal value changes nothing (so applying the
// same input twice is a no-op), and an empty one never erases a known one.
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
		// A provided value equal to an imputed one confirms it: the value stays,
		// its provenance becomes the provided one.
		if old := c.Fields[f]; old.Value == "" || (nv.Value != old.Value && Prefer(nv, old) >= 0) ||
			(nv.Value == old.Value && old.Imputed && !nv.Imputed) {
			c.Fields[f] = nv
			changed = append(changed, f)
		}
	}
	return changed
}

// Prefer is Kith's one survivorship rule: it compares two observations of one
// field and answers > 0 when a should survive, < 0 when b should, 0 when the rule
// cannot tell them apart. In order:
//  1. a value beats no value;
//  2. a provided value beats an imputed one, whatever their ages;
//  3. the higher-ranked source wins (Source.Rank: CRM > form > import > tracker),
//     so a later import of an older spelling never replaces a CRM's value;
//  4. between sources of one rank, the later observation (Provenance.At) wins.
//
// Contact.Merge lets the incoming value win a tie (the latest write of equals);
// the de-duplication's golden record breaks ties by the more complete record,
// then the smaller id, so its result never depends on input order.
func Prefer(a, b Value) int {
	return cmp.Or(
		cmp.Compare(boolRank(a.Value != ""), boolRank(b.Value != "")),
		cmp.Compare(boolRank(!a.Imputed), boolRank(!b.Imputed)),
		cmp.Compare(a.Source.Rank(), b.Source.Rank()),
		a.At.Compare(b.At),
	)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SortedKeys returns m's keys in order: code that walks a map (workflows above
// all, which must never depend on map order) walks these instead.
func SortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	// The keys are sorted below, so the map's order never shows.
	//workflowcheck:ignore
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
