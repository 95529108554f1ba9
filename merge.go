package kith

import (
	"context"
	"encoding/json"
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
	// Unverified says the merged contacts' values came from answers nobody
	// verified (a web form): they only fill what the survivor lacks, and the
	// merged contacts keep their anonymous (browser) identities, so the
	// browser that typed them never acts as the survivor.
	Unverified bool `json:"unverified,omitempty"`
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
	// back, the survivor gets back the fields it had before, and the pair is
	// kept apart from then on (a person decided they are two).
	Unmerge(ctx context.Context, mergeID int64, actor string) (Unmerged, error)
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
	// SaveMatchModel keeps a run's model and name counts for matching on
	// write, and returns its version (older versions beyond a few are dropped).
	SaveMatchModel(ctx context.Context, m MatchModel) (int64, error)
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

// MatchStore is what matching one contact as it is written reads and writes.
type MatchStore interface {
	MergeStore
	// MatchCandidates returns a contact, the active contacts that share a
	// blocking key with it (at most perKey per key), their source records and
	// reviewers' decisions among them.
	MatchCandidates(ctx context.Context, contactID string, perKey int) (MatchCandidates, error)
	// MatchModel returns the newest stored model when its version is above
	// newerThan (false when there is none newer).
	MatchModel(ctx context.Context, newerThan int64) (MatchModel, bool, error)
	// FoldIntoSurvivor writes what a merged contact holds now into the active
	// contact it was merged into, with the fields golden chooses (both read
	// under lock); it returns the survivor's id ("" when the contact is not
	// merged).
	FoldIntoSurvivor(ctx context.Context, mergedID string, golden func(survivor, merged Contact) map[Field]Value) (string, error)
}

// MatchCandidates are a contact and what it may be a duplicate of.
type MatchCandidates struct {
	Contact    Contact
	Status     string // active, merged or archived
	MergedInto string // the active contact a merged one is part of now
	Candidates []Contact
	// Sources are the source records by contact id, of the contact and of the
	// candidates (with those of the contacts merged into them).
	Sources map[string][]SourceRecord
	// Rows, from the reads of a partitioned run (PartitionStore), are the
	// candidates as what matching compares of them, in place of Candidates
	// and Sources: hundreds of thousands of contacts, each without a map of
	// fields.
	Rows      []MatchRow
	Decisions map[[2]string]bool
	// Keys, when a read was restricted to some blocks, are their keys.
	Keys []int64
	// Changed, with Keys, are the contacts whose merges changed those blocks
	// (the survivors), in id order.
	Changed []string
}

// MatchRow is what de-duplication compares of an active contact's profile
// or of a source record it holds (its own or a merged contact's). Rows come
// by holder, in id order: the profile first, then the records in source and
// ref order.
type MatchRow struct {
	Holder string // the active contact
	Source Source // "" for the holder's profile
	Ref    string
	// CreatedAt is the profile's (zero for a record); At is when the profile
	// was updated or the record observed.
	CreatedAt, At time.Time
	// EmailSource is, for a profile with an email, where the email came from.
	EmailSource Source
	// Values are those of dedup.MatchFields, in that order ("" for none).
	Values []string
}

// MatchModel is the match model a full de-duplication run estimated, kept so
// that contacts written between runs are scored as the run would score them.
type MatchModel struct {
	Version   int64     `json:"version"`
	TrainedAt time.Time `json:"trained_at"`
	// Records is how many records the run resolved (contacts and the source
	// records that said something else).
	Records int `json:"records"`
	// Model is the dedup package's model, as JSON.
	Model json.RawMessage `json:"model"`
	// FirstNames and LastNames count records by the hash of their folded name.
	FirstNames map[uint64]int32 `json:"-"`
	LastNames  map[uint64]int32 `json:"-"`
}

// MergeNotice tells the contacts' workflows about a merge made as a contact was
// written: the survivor reloads its profile and takes over what the submission
// still had to do; the merged contact points at the survivor from then on.
type MergeNotice struct {
	ID         string `json:"id"` // unique per notice: a repeat is ignored
	SurvivorID string `json:"survivor_id"`
	MergedID   string `json:"merged_id"`
	// Consents the merged contact's submission recorded (already the
	// survivor's in the store), and the purposes among them that wait for a
	// double opt-in the survivor's workflow now runs.
	Consents    []ConsentRecord `json:"consents,omitempty"`
	DoubleOptIn []string        `json:"double_opt_in,omitempty"`
	// Event is the submission as an event, for the survivor's triggers.
	Event *EventNotice `json:"event,omitempty"`
	// Undone says the merge was undone: both reload, the merged contact is
	// its own again.
	Undone bool `json:"undone,omitempty"`
}

// Unmerged is a merge undone.
type Unmerged struct {
	MergeID    int64  `json:"merge_id"`
	SurvivorID string `json:"survivor_id"`
	MergedID   string `json:"merged_id"`
}

// Unmerger undoes a merge and tells both contacts' workflows.
type Unmerger interface {
	Unmerge(ctx context.Context, mergeID int64, actor string) (Unmerged, error)
}

// PartitionStore is what a de-duplication run split into parts of the key
// space reads and writes: each part reads only the contacts of its blocks, and
// the links the parts found are joined at the end.
type PartitionStore interface {
	DedupStore
	CountActive(ctx context.Context) (int, error)
	// RefreshStatistics brings the planner's statistics of the tables a run
	// reads up to date when many rows changed since they were gathered (a
	// bulk import just before).
	RefreshStatistics(ctx context.Context) error
	// ContactPages is how many pages the store of the active contacts'
	// match values has now.
	ContactPages(ctx context.Context) (int64, error)
	// ActiveInPages returns the active contacts stored in pages [from, to)
	// of that store (to 0: to its end) with their source records, as Rows: a
	// record whose values are its holder's profile's may be left out, as
	// matching drops it. Reading a table in its pages' order is reading it
	// sequentially.
	ActiveInPages(ctx context.Context, from, to int64) (MatchCandidates, error)
	// PartContacts returns the active contacts that share a blocking key in
	// [lo, hi] with another contact, their source records and the decisions
	// among them; values as ActiveInPages reads them. With changedFrom, only the
	// blocks of the keys held by survivors of the merges recorded from that
	// merge id on, those keys (Keys) and those survivors (Changed).
	PartContacts(ctx context.Context, lo, hi, changedFrom int64) (MatchCandidates, error)
	// PartProfiles is PartContacts for a later round that scores only what
	// the round before's merges made new: the survivors' golden profiles.
	// It reads the blocks of the profiles' keys in [lo, hi] (Keys) of the
	// survivors of the merges from changedFrom on (Changed), leaving out a
	// survivor whose profile's values are those of a record it holds: that
	// record's pairs were scored before, with those values.
	PartProfiles(ctx context.Context, lo, hi, changedFrom int64) (MatchCandidates, error)
	// RoundKeys keys the new profiles PartProfiles reads for changedFrom
	// (once for the round) and returns how many keys they have, with an
	// estimate of how many the whole list's contacts have.
	RoundKeys(ctx context.Context, changedFrom int64) (round, list int64, err error)
	// ContactsByID returns active contacts with their source records and the
	// decisions among them; values as ActiveInPages reads them.
	ContactsByID(ctx context.Context, ids []string) (MatchCandidates, error)
	MatchModelVersion(ctx context.Context, version int64) (MatchModel, error)
	// SaveLinks keeps a run's links (a pair saved again is a no-op); EachLink
	// reads them back with the reviewers' merge decisions; DropLinks forgets
	// them.
	SaveLinks(ctx context.Context, runID string, links []DedupLink) error
	EachLink(ctx context.Context, runID string, f func(DedupLink) error) error
	DropLinks(ctx context.Context, runID string) error
	// LastMergeID is the id of the newest merge record (0 for none);
	// MergesAfter counts the merge records by actor after id after, and
	// returns the first of them (0 for none): what a round's merge parts
	// wrote, whichever of their attempts wrote it.
	LastMergeID(ctx context.Context) (int64, error)
	MergesAfter(ctx context.Context, after int64, actor string) (first int64, n int, err error)
}

// DedupLink is a pair of contacts a part of a run scored: linked (accepted) or
// for review.
type DedupLink struct {
	A, B        string // contact ids, A < B
	Probability float64
	Accepted    bool
	Reason      string // why a pair above the threshold went to review
}
