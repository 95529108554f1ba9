package activities

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// ErrReplayRefused is the application error type of a replay that cannot run
// (a source whose payloads are not records, a bad date range). Not retried.
const ErrReplayRefused = "ReplayRefused"

// ReplaySources are the sources whose archived payloads replay through
// today's rules: records that standardization and identity read on their own
// (an imported row, a fetched CRM object). Requests (forms, tracking,
// webhooks) are answered once; their records are replayed where they landed.
var ReplaySources = []kith.LakeSource{kith.LakeImport, kith.LakeCRMObject}

// ReplayStore is what a replay writes through: the same upsert the original
// path used, and lookups to tell what changed.
type ReplayStore interface {
	kith.ContactStore
	ContactIDFor(ctx context.Context, id kith.Identity) (string, error)
	StoreCRMObject(ctx context.Context, obj kith.CRMObject, contact kith.ContactInput) ([]string, error)
	SourceRecord(ctx context.Context, src kith.Source, ref string) (map[kith.Field]string, bool, error)
}

// Replayer re-runs archived records through today's standardization and
// identity rules. A record that today's rules read as its stored source
// record holds (the same values) changes nothing: its observation was applied
// when it arrived, and applying it again would undo what came after (a
// merge's survivorship, a newer source). A record read differently (a value
// repaired, one refused then and accepted now) is written with its original
// provenance (source reference and observation time), so a second replay
// finds it stored and changes nothing.
type Replayer struct {
	Store ReplayStore
	// CRM standardizes CRM objects as a sync does.
	CRM *CRM
	// Matcher matches the contacts a replay created or changed (nil: none).
	Matcher *Matcher
}

// ReplayInput names the archived payloads to replay: one source, whole days
// From to To (YYYY-MM-DD, inclusive).
type ReplayInput struct {
	Source kith.LakeSource `json:"source"`
	From   string          `json:"from"`
	To     string          `json:"to"`
	// OnlyQuarantined replays only what was quarantined when it arrived: the
	// quarantine's "fix and replay" after a rule is fixed.
	OnlyQuarantined bool `json:"only_quarantined,omitempty"`
}

// ReplayReport says what a replay changed; it is also its heartbeat (with the
// cursor a retried attempt resumes from).
type ReplayReport struct {
	Objects int `json:"objects"`
	Lines   int `json:"lines"`
	// NowAccepted were quarantined when they arrived and are accepted today;
	// StillQuarantined are refused today too.
	NowAccepted      int `json:"now_accepted"`
	StillQuarantined int `json:"still_quarantined"`
	// Repaired counts the values today's rules repaired (warnings on values
	// they kept) in records that changed a contact.
	Repaired int `json:"repaired"`
	Created  int `json:"created"`
	Updated  int `json:"updated"`
	// Unchanged records changed nothing (the common case: rules that did not
	// change read them as before).
	Unchanged int `json:"unchanged"`
	// Merged counts contacts that match-on-write merged after the replay
	// created or changed them.
	Merged int          `json:"merged"`
	Cursor ReplayCursor `json:"cursor"`
}

// ReplayCursor is where a replay is: the object and the lines done in it.
type ReplayCursor struct {
	Object string `json:"object,omitempty"`
	Line   int    `json:"line,omitempty"`
}

// ReplayDays checks a replay's source and days and returns the days.
func ReplayDays(in ReplayInput) ([]time.Time, error) {
	if !slices.Contains(ReplaySources, in.Source) {
		return nil, fmt.Errorf("cannot replay %q: replay re-runs records (%s); requests of other sources are replayed where their records landed", in.Source, sourceList())
	}
	from, err1 := time.Parse(time.DateOnly, in.From)
	to, err2 := time.Parse(time.DateOnly, in.To)
	switch {
	case err1 != nil || err2 != nil:
		return nil, fmt.Errorf("dates must be YYYY-MM-DD (from %q, to %q)", in.From, in.To)
	case to.Before(from):
		return nil, fmt.Errorf("--to %s is before --from %s", in.To, in.From)
	case to.Sub(from) > 366*24*time.Hour:
		return nil, fmt.Errorf("replay at most a year at a time (%s to %s)", in.From, in.To)
	}
	var days []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return days, nil
}

// sourceList names ReplaySources for a person to read.
func sourceList() string {
	names := make([]string, len(ReplaySources))
	for i, s := range ReplaySources {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// ReplayLake replays the archived payloads of one source over whole days, in
// object and line order, heartbeating a cursor: a retried attempt resumes
// after the last line it reported (and replaying a line again is harmless).
func (a *Lake) ReplayLake(ctx context.Context, in ReplayInput) (ReplayReport, error) {
	var rep ReplayReport
	days, err := ReplayDays(in)
	if err != nil {
		return rep, temporal.NewNonRetryableApplicationError(err.Error(), ErrReplayRefused, nil)
	}
	if a.Replay == nil {
		return rep, temporal.NewNonRetryableApplicationError("this worker cannot replay (no replay store)", ErrReplayRefused, nil)
	}
	b, err := a.bucket()
	if err != nil {
		return rep, err
	}
	if activity.HasHeartbeatDetails(ctx) {
		activity.GetHeartbeatDetails(ctx, &rep)
	}
	now := a.Now()
	for _, day := range days {
		names, err := b.List(ctx, kith.LakePrefix(in.Source, day))
		if err != nil {
			return rep, err
		}
		for _, name := range names {
			if name < rep.Cursor.Object {
				continue // done by an earlier attempt
			}
			data, err := b.Get(ctx, name)
			if kith.ErrorCode(err) == kith.CodeNotFound {
				continue // expired or erased meanwhile
			}
			if err != nil {
				return rep, err
			}
			lines, err := kith.DecodeLakeObject(data)
			if err != nil {
				return rep, fmt.Errorf("replay %s: %w", name, err)
			}
			start := 0
			if name == rep.Cursor.Object {
				start = rep.Cursor.Line
			} else {
				rep.Objects++
			}
			for i := start; i < len(lines); i++ {
				l := lines[i]
				if !in.OnlyQuarantined || l.Verdict == kith.VerdictQuarantined {
					if err := a.Replay.line(ctx, l, now, &rep); err != nil {
						return rep, fmt.Errorf("replay %s line %d: %w", name, i+1, err)
					}
				}
				rep.Cursor = ReplayCursor{Object: name, Line: i + 1}
				if (i+1)%200 == 0 {
					activity.RecordHeartbeat(ctx, rep)
				}
			}
			activity.RecordHeartbeat(ctx, rep)
		}
	}
	return rep, nil
}

// replayed is what one record did today.
type replayed struct {
	accepted  bool // nothing refused
	result    kith.UpsertResult
	repaired  int
	contactID string
}

// line replays one archived record and adds what it did to the report.
func (r *Replayer) line(ctx context.Context, l kith.LakeLine, now time.Time, rep *ReplayReport) error {
	var out replayed
	var err error
	switch l.Source {
	case kith.LakeImport:
		out, err = r.importRow(ctx, l, now)
	case kith.LakeCRMObject:
		out, err = r.crmObject(ctx, l, now)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	rep.Lines++
	switch {
	case !out.accepted:
		rep.StillQuarantined++
	case l.Verdict == kith.VerdictQuarantined:
		rep.NowAccepted++
	}
	rep.Created += out.result.Created
	rep.Updated += out.result.Updated
	rep.Unchanged += out.result.Unchanged
	if out.result.Created+out.result.Updated == 0 {
		return nil
	}
	rep.Repaired += out.repaired
	if r.Matcher == nil || out.contactID == "" {
		return nil
	}
	m, err := r.Matcher.MatchContact(ctx, MatchInput{ContactID: out.contactID})
	if err != nil {
		return err
	}
	if m.Outcome == MatchMerged || m.Outcome == MatchAbsorbed {
		rep.Merged++
	}
	return nil
}

// importRow reads an archived import row as the import reads a file's row
// (its header rebuilt from the row's columns) and upserts what it makes.
func (r *Replayer) importRow(ctx context.Context, l kith.LakeLine, now time.Time) (replayed, error) {
	var p importLakeRow
	if err := json.Unmarshal(l.Payload, &p); err != nil {
		return replayed{}, fmt.Errorf("not an import row: %w", err)
	}
	cols, rec, perr := p.Columns, []string(nil), error(nil)
	switch {
	case p.Record != nil:
		cols = slices.Sorted(maps.Keys(p.Record))
		for _, c := range cols {
			rec = append(rec, p.Record[c])
		}
	case len(cols) > 0:
		line := []byte(p.Raw)
		if p.RawBase64 != "" {
			var err error
			if line, err = base64.StdEncoding.DecodeString(p.RawBase64); err != nil {
				return replayed{}, fmt.Errorf("an import row's raw_base64: %w", err)
			}
		}
		cr := csv.NewReader(bytes.NewReader(line))
		cr.FieldsPerRecord = -1
		rec, perr = cr.Read()
	default:
		return replayed{}, nil // archived without its columns: nothing to read it by
	}
	var hdr bytes.Buffer
	w := csv.NewWriter(&hdr)
	w.Write(cols)
	w.Flush()
	h, err := ReadHeader(&hdr)
	if err != nil {
		return replayed{}, nil // no email or phone column: nothing to read, as then
	}
	h.opts = quality.Options{DefaultRegion: p.Region, Regions: p.Regions, Now: now}
	c, refused := h.row(rec, perr, kith.Provenance{Source: kith.SourceImport, Ref: l.Ref, At: p.ObservedAt})
	out := replayed{accepted: len(refused) == 0, repaired: len(c.Findings)}
	if c.Fields == nil {
		return out, nil
	}
	if same, err := r.readAsStored(ctx, kith.SourceImport, l.Ref, c.Fields); err != nil || same {
		out.result.Unchanged = 1
		return out, err
	}
	if out.result, err = r.Store.UpsertContacts(ctx, []kith.ContactInput{c}); err != nil {
		return out, err
	}
	if out.result.Created+out.result.Updated > 0 {
		out.contactID, err = r.Store.ContactIDFor(ctx, c.Identity())
	}
	return out, err
}

// crmObject standardizes an archived CRM object as a sync does and stores it;
// whether it changed its contact is read from the contact before and after.
func (r *Replayer) crmObject(ctx context.Context, l kith.LakeLine, now time.Time) (replayed, error) {
	var obj kith.CRMObject
	if err := json.Unmarshal(l.Payload, &obj); err != nil {
		return replayed{}, fmt.Errorf("not a CRM object: %w", err)
	}
	crm := *r.CRM
	crm.Now = func() time.Time { return now }
	in, q := crm.standardize(obj)
	out := replayed{accepted: q == nil, repaired: len(in.Findings)}
	if p := kith.RecordProvenance(in.Fields); p.Ref != "" {
		if same, err := r.readAsStored(ctx, kith.SourceCRM, p.Ref, in.Fields); err != nil || same {
			out.result.Unchanged = 1
			return out, err
		}
	}
	ident := kith.Identity{Kind: kith.IdentityCRM, Namespace: obj.Provider, Value: obj.ID}
	before, err := r.contactOf(ctx, ident)
	if err != nil {
		return out, err
	}
	ids, err := r.Store.StoreCRMObject(ctx, obj, in)
	if err != nil || len(ids) == 0 || obj.Type != kith.CRMContact {
		out.result.Unchanged = 1
		return out, err
	}
	after, err := r.Store.Contact(ctx, ids[0])
	if err != nil {
		return out, err
	}
	switch {
	case before == nil:
		out.result.Created = 1
	case !sameValues(before.Fields, after.Fields):
		out.result.Updated = 1
	default:
		out.result.Unchanged = 1
	}
	out.contactID = ids[0]
	return out, nil
}

// readAsStored says whether a source record's values today are those stored
// for it.
func (r *Replayer) readAsStored(ctx context.Context, src kith.Source, ref string, fields map[kith.Field]kith.Value) (bool, error) {
	stored, ok, err := r.Store.SourceRecord(ctx, src, ref)
	if err != nil || !ok {
		return false, err
	}
	return maps.Equal(stored, kith.RecordValues(fields)), nil
}

func (r *Replayer) contactOf(ctx context.Context, id kith.Identity) (*kith.Contact, error) {
	cid, err := r.Store.ContactIDFor(ctx, id)
	if kith.ErrorCode(err) == kith.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := r.Store.Contact(ctx, cid)
	return &c, err
}
