package kith

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// ContactInput is one incoming observation of a contact, identified by its email,
// or by Key when it has none.
type ContactInput struct {
	Fields map[Field]Value `json:"fields"`
	// Findings are the warnings standardizing the record raised on values it
	// kept (repairs, inferences): counted when the record changes its contact.
	Findings Violations `json:"findings,omitempty"`
	// UserID is the source's own id of the person (the events API's userId):
	// it joins the contact unless another contact holds it already.
	UserID string `json:"user_id,omitempty"`
	// Key identifies an input without an email: the source's own key for the
	// record (RecordKey), so the same record arriving again finds its contact.
	Key string `json:"key,omitempty"`
}

// Identity is the identity an input is found by: its email, else its record
// key.
func (c ContactInput) Identity() Identity {
	if e := c.Fields[FieldEmail].Value; e != "" {
		return Identity{Kind: IdentityEmail, Value: e}
	}
	return Identity{Kind: IdentityRecord, Value: c.Key}
}

// RecordValues are an input's values as its source record keeps them: the
// non-empty values it gave (not the imputed ones).
func RecordValues(fields map[Field]Value) map[Field]string {
	values := make(map[Field]string, len(fields))
	for f, v := range fields {
		if v.Value != "" && !v.Imputed {
			values[f] = v.Value
		}
	}
	return values
}

// RecordProvenance is where an input record came from: the provenance of its
// first field (in ProfileFields order) that names its source record (a Ref).
func RecordProvenance(fields map[Field]Value) Provenance {
	for _, f := range ProfileFields {
		if v, ok := fields[f]; ok && v.Ref != "" && !v.Imputed {
			return v.Provenance
		}
	}
	return Provenance{}
}

// RecordKey is the key of a record without an email: a hash of its source and
// its values in ProfileFields order, so the same record read again (a file
// imported twice) has the same key and a changed one another.
func RecordKey(src Source, fields map[Field]Value) string {
	h := sha256.New()
	h.Write([]byte(src))
	for _, f := range ProfileFields {
		h.Write([]byte{0})
		h.Write([]byte(fields[f].Value))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// UpsertResult counts what an upsert did.
type UpsertResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Refused   int `json:"refused,omitempty"` // inputs of erased people, dropped
}

// Add sums two results.
func (r UpsertResult) Add(o UpsertResult) UpsertResult {
	return UpsertResult{r.Created + o.Created, r.Updated + o.Updated, r.Unchanged + o.Unchanged, r.Refused + o.Refused}
}

// ContactReader reads one contact.
type ContactReader interface {
	// Contact returns the contact with the given ID, or an error with CodeNotFound.
	Contact(ctx context.Context, id string) (Contact, error)
}

// ContactStore keeps canonical contacts.
type ContactStore interface {
	ContactReader
	// UpsertContacts resolves each input to a contact by its email identity, creating
	// the contact when none exists, and merges the fields with Contact.Merge.
	UpsertContacts(ctx context.Context, in []ContactInput) (UpsertResult, error)
}

// CleaningStore is what the scheduled cleaning reads and writes.
type CleaningStore interface {
	EventStore
	// ContactsAfter pages through active contacts by id after after; with
	// mergesFrom > 0 only the survivors of merges recorded from that id on.
	ContactsAfter(ctx context.Context, after string, mergesFrom int64, limit int) ([]Contact, error)
	// EachAgeFact calls f with what the age imputer learns from each contact.
	EachAgeFact(ctx context.Context, f func(AgeFact)) error
	// CleanContacts writes a batch of cleaned contacts and its quarantine in one
	// transaction and returns how many contacts changed.
	CleanContacts(ctx context.Context, batch []CleanedContact, quarantine []Quarantined) (int, error)
	// SnapshotCompleteness keeps today's completeness distribution of active
	// contacts (the report compares it with 30 days later); again the same day
	// replaces it.
	SnapshotCompleteness(ctx context.Context, day time.Time) error
}

// CleanedContact is a stored contact as the cleaning re-checked it: its fields
// after cleaning (nil when nothing changed) and its completeness score.
type CleanedContact struct {
	Contact      Contact
	Fields       map[Field]Value
	Completeness int
}

// AgeFact is what the age imputer learns from one contact.
type AgeFact struct {
	ContactID               string
	Age, BirthDate, Country string
	AgeImputed              bool
	// Categories counts the contact's product events (viewed, added, clicked,
	// ordered) by product category, lower-cased: the behaviour age imputation
	// learns from. Empty for a contact with none.
	Categories map[string]float64
}

// EventStore keeps events and quarantined input.
type EventStore interface {
	// InsertEvents stores events, ignoring any whose EventID is already stored, and
	// returns how many were new.
	InsertEvents(ctx context.Context, events []Event) (int, error)
	// Quarantine stores rejected input, once per (Source, Ref).
	Quarantine(ctx context.Context, q []Quarantined) error
}

// ImportCheckpoint is how far an import has got, committed together with the rows
// it covers, so a restarted worker resumes exactly where the last commit ended.
type ImportCheckpoint struct {
	Offset      int64 `json:"offset"` // byte offset of the next unread row
	Row         int   `json:"row"`    // data rows read so far (the header is not a row)
	Created     int   `json:"created"`
	Updated     int   `json:"updated"`
	Unchanged   int   `json:"unchanged"`
	Quarantined int   `json:"quarantined"` // rows with a refused value, kept in quarantine
	Skipped     int   `json:"skipped"`     // of those, rows that made no contact (no identity, unreadable)
	Refused     int   `json:"refused"`     // rows of erased people, dropped
	Done        bool  `json:"done"`
}

// ImportBatch is one batch of an import: rows to upsert, rows to quarantine, and the
// position after them. From is the offset the batch starts at; a commit whose From
// does not match the stored checkpoint is refused as a conflict (another attempt got
// there first).
type ImportBatch struct {
	ImportID   string
	From       int64
	To         int64
	Rows       int
	Done       bool
	Contacts   []ContactInput
	Quarantine []Quarantined
	// Lake are the batch's rows as they were read, for the raw lake: spooled
	// in the batch's transaction, so a retried batch archives nothing twice.
	Lake []LakeLine
}

// ImportStore commits import batches atomically with their checkpoint.
type ImportStore interface {
	// ImportCheckpoint returns the last committed checkpoint, the zero value for a new
	// import.
	ImportCheckpoint(ctx context.Context, importID string) (ImportCheckpoint, error)
	// CommitImportBatch upserts the contacts, quarantines the rejects and advances the
	// checkpoint in one transaction, returning the new checkpoint.
	CommitImportBatch(ctx context.Context, b ImportBatch) (ImportCheckpoint, error)
	// RefreshStatistics brings the planner's statistics of the contact tables
	// up to date after a load changed many of their rows.
	RefreshStatistics(ctx context.Context) error
}
