package activities

import (
	"context"
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// Cleaning re-checks stored contacts: re-standardizes them with today's rules,
// imputes missing ages and recomputes completeness.
type Cleaning struct {
	Store   kith.CleaningStore
	Quality quality.Options
	Now     func() time.Time
}

// StandardizeInput sizes the batches.
type StandardizeInput struct {
	BatchSize int `json:"batch_size"`
	// MergesFrom limits the pass to the survivors of the merges recorded from this
	// merge id on (zero: every contact).
	MergesFrom int64 `json:"merges_from,omitempty"`
}

// StandardizeResult counts what re-standardizing did; it is also the heartbeat,
// so a retry resumes after the last contact done.
type StandardizeResult struct {
	Cursor   string `json:"cursor"`
	Checked  int    `json:"checked"`
	Changed  int    `json:"changed"`  // contacts with a value rewritten or dropped
	Rejected int    `json:"rejected"` // values dropped (kept in quarantine)
	Imputed  int    `json:"imputed"`  // ages imputed
}

// Standardize walks every active contact in id order, in batches: values the
// current rules write differently are rewritten, values they reject are dropped
// and quarantined with the reason, a missing age is imputed (flagged, median of
// the contact's country), and the completeness score is stored.
func (a *Cleaning) Standardize(ctx context.Context, in StandardizeInput) (StandardizeResult, error) {
	var res StandardizeResult
	inActivity := activity.IsActivity(ctx) // also called directly, e.g. by tests
	if inActivity && activity.HasHeartbeatDetails(ctx) {
		activity.GetHeartbeatDetails(ctx, &res)
	}
	if in.BatchSize <= 0 {
		in.BatchSize = 500
	}
	opts := a.Quality
	opts.Now = a.Now()
	ages, err := a.fitAges(ctx)
	if err != nil {
		return res, err
	}
	for {
		batch, err := a.Store.ContactsAfter(ctx, res.Cursor, in.MergesFrom, in.BatchSize)
		if err != nil {
			return res, err
		}
		if len(batch) == 0 {
			return res, nil
		}
		cleaned := make([]kith.CleanedContact, 0, len(batch))
		var qs []kith.Quarantined
		for _, c := range batch {
			fields, rejected, q := clean(c, opts)
			if q != nil {
				qs = append(qs, *q)
			}
			if _, ok := fields[kith.FieldAge]; !ok && fields[kith.FieldBirthDate].Value == "" && ages != nil {
				// No age: the sample needs only its segment.
				if im, ok := ages.Impute(quality.Sample{Segment: fields[kith.FieldCountry].Value}); ok {
					fields[kith.FieldAge] = im.AsValue(opts.Now)
					res.Imputed++
				}
			}
			cc := kith.CleanedContact{Contact: c, Completeness: quality.Score(fields, quality.DefaultWeights).Score}
			if !sameValues(c.Fields, fields) {
				cc.Fields = fields
				res.Changed++
			}
			cleaned = append(cleaned, cc)
			res.Checked++
			res.Rejected += rejected
		}
		if _, err := a.Store.CleanContacts(ctx, cleaned, qs); err != nil {
			return res, err
		}
		res.Cursor = batch[len(batch)-1].ID
		if inActivity {
			activity.RecordHeartbeat(ctx, res)
		}
	}
}

// clean re-standardizes a contact's provided values; imputed values are kept as
// they are. It returns the cleaned fields, how many values were rejected, and
// their quarantine entry.
func clean(c kith.Contact, opts quality.Options) (map[kith.Field]kith.Value, int, *kith.Quarantined) {
	raw := map[kith.Field]string{}
	for f, v := range c.Fields {
		if !v.Imputed && f != kith.FieldPhoneType && f != kith.FieldPhoneExt {
			raw[f] = v.Value
		}
	}
	r := quality.Record(raw, opts)
	out := make(map[kith.Field]kith.Value, len(c.Fields))
	for f, v := range c.Fields {
		if v.Imputed {
			out[f] = v
		}
	}
	// A value derived now (the phone type) takes the phone's provenance.
	maps.Copy(out, r.Values(c.Fields[kith.FieldPhone].Provenance, c.Fields))
	rejects, _ := r.Violations.Split()
	if len(rejects) == 0 {
		return out, 0, nil
	}
	at := c.UpdatedAt.Format(time.RFC3339Nano)
	q := kith.Quarantine(kith.SourceCleaning, fmt.Appendf(nil, "contact %s as stored at %s", c.ID, at), rejects, c.ID, at)
	return out, len(rejects), &q
}

// fitAges fits the age imputer: the median age per country of contacts whose age
// or birth date is known.
func (a *Cleaning) fitAges(ctx context.Context) (*quality.Imputer, error) {
	var samples []quality.Sample
	now := a.Now()
	err := a.Store.EachAgeFact(ctx, func(f kith.AgeFact) {
		if f.AgeImputed {
			return
		}
		v := f.Age
		if f.BirthDate != "" {
			if t, err := time.Parse(time.DateOnly, f.BirthDate); err == nil {
				v = fmt.Sprint(quality.AgeOn(t, now))
			}
		}
		if v != "" {
			samples = append(samples, quality.Sample{Values: map[kith.Field]string{kith.FieldAge: v}, Segment: f.Country})
		}
	})
	if err != nil {
		return nil, err
	}
	if len(samples) < 10 {
		return nil, nil // too few to impute from
	}
	return quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyMedian, Field: kith.FieldAge, BySegment: true}, samples)
}

func sameValues(a, b map[kith.Field]kith.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for f, v := range a {
		if w, ok := b[f]; !ok || w.Value != v.Value || w.Imputed != v.Imputed {
			return false
		}
	}
	return true
}

// ArchiveInput is the inactivity rule.
type ArchiveInput struct {
	InactiveDays int `json:"inactive_days"`
}

// Archiver archives contacts that should no longer be mailed.
type Archiver struct {
	Store kith.ArchiveStore
	// Notifier tells the archived contacts' running workflows, which cancel
	// their pending triggers at once (nil: the send-time check suppresses them).
	Notifier kith.ContactNotifier
	Now      func() time.Time
}

// Archive archives contacts that withdrew email marketing, hard-bounced, or
// showed no engagement in InactiveDays (default 365). Restore brings one back.
func (a *Archiver) Archive(ctx context.Context, in ArchiveInput) (kith.ArchiveCounts, error) {
	if in.InactiveDays <= 0 {
		in.InactiveDays = 365
	}
	counts, err := a.Store.ArchiveContacts(ctx, a.Now().AddDate(0, 0, -in.InactiveDays))
	if err != nil || a.Notifier == nil {
		return counts, err
	}
	now := a.Now()
	for i, id := range counts.IDs {
		e := kith.EventNotice{EventID: "archived/" + id + "/" + now.Format("20060102"), Type: ContactArchived, At: now}
		if err := a.Notifier.NotifyRunning(ctx, id, e); err != nil {
			// The send-time check still suppresses its messages.
			activity.GetLogger(ctx).Warn("an archived contact's workflow was not told", "contact", id, "error", err)
		}
		if i%100 == 0 {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	return counts, nil
}

// ContactArchived is the event an archived contact's workflow is told: it
// cancels the contact's pending triggers.
const ContactArchived = "Contact Archived"
