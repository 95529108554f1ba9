package kith

import (
	"context"
	"time"
)

// Merge folds duplicate contacts into a survivor: the merged contacts are kept
// (status merged, pointing at the survivor) with a snapshot of what they were and
// which identities they had, so the merge can be undone.
type Merge struct {
	SurvivorID string          `json:"survivor_id"`
	MergedIDs  []string        `json:"merged_ids"`
	Golden     map[Field]Value `json:"golden"` // the survivor's fields after the merge
	Score      float64         `json:"score"`  // the weakest link's match probability
	Reason     string          `json:"reason"` // e.g. "dedup: … weakest link …", "review"
	Actor      string          `json:"actor"`  // who decided: "dedup", a reviewer's name
}

// ReviewPair is a pair of contacts a person should decide about.
type ReviewPair struct {
	A           string  `json:"a"`
	B           string  `json:"b"`
	Probability float64 `json:"probability"`
	// Reason says why a pair above the accept threshold was held back for a
	// person (a veto, a rule, the chain guard); empty below it.
	Reason string `json:"reason,omitempty"`
}

// MergeStore records merges, undoes them, and keeps the review queue.
type MergeStore interface {
	// MergeContacts applies merges (together, or not at all), each once: contacts
	// already merged into their survivor are skipped. It returns the merge record
	// ids, one per contact merged, in order.
	MergeContacts(ctx context.Context, ms ...Merge) ([]int64, error)
	// Unmerge undoes one merge record: the merged contact and its identities come
	// back, and the survivor gets back the fields it had before.
	Unmerge(ctx context.Context, mergeID int64, actor string) error
	// QueueReview stores pairs for review; a pair already decided stays decided.
	QueueReview(ctx context.Context, pairs []ReviewPair) error
	// DecideReview records a person's decision on a pair.
	DecideReview(ctx context.Context, a, b string, merge bool, actor string) error
	// ReviewDecisions returns every decided pair: true to merge, false to keep apart.
	ReviewDecisions(ctx context.Context) (map[[2]string]bool, error)
}

// DedupStore is what a full de-duplication reads and writes.
type DedupStore interface {
	MergeStore
	// ActiveContacts returns every contact that is neither merged nor archived.
	ActiveContacts(ctx context.Context) ([]Contact, error)
	// ActiveSourceRecords returns, by active contact id, the source records
	// (list rows, CRM objects) it and the contacts merged into it received.
	ActiveSourceRecords(ctx context.Context) (map[string][]SourceRecord, error)
	// RecordDedupRun keeps a run's figures (a run recorded again is replaced).
	RecordDedupRun(ctx context.Context, r DedupRun) error
}

// SourceRecord is one record a list or a CRM gave for a contact, standardized:
// the profile keeps one value per field, source records keep every one seen.
type SourceRecord struct {
	Source     Source
	Ref        string
	Fields     map[Field]string
	ObservedAt time.Time
}

// ArchiveStore archives contacts that are no longer reachable.
type ArchiveStore interface {
	// ArchiveContacts archives contacts that withdrew email marketing,
	// hard-bounced, or showed no activity since before, and counts them by reason.
	ArchiveContacts(ctx context.Context, before time.Time) (ArchiveCounts, error)
}

// ArchiveCounts are the contacts a cleaning archived, by reason.
type ArchiveCounts struct {
	Unsubscribed int `json:"unsubscribed"`
	HardBounce   int `json:"hard_bounce"`
	Inactive     int `json:"inactive"`
	// IDs are the contacts archived (for the activity to tell their
	// workflows; not part of its result).
	IDs []string `json:"-"`
}

// ReviewQueue is the de-duplication review queue as ops see it.
type ReviewQueue interface {
	// PendingReviews lists undecided pairs, most likely matches first.
	PendingReviews(ctx context.Context, limit int) ([]ReviewPair, error)
	// DecideReview records a person's decision on a pair (and who decided).
	DecideReview(ctx context.Context, a, b string, merge bool, actor string) error
}
