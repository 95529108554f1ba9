package activities

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
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
	// ImputedByBehaviour of those were read from product events (the rest:
	// the country median).
	ImputedByBehaviour int `json:"imputed_by_behaviour"`
	// AgeModel measures both ways on known ages held back from fitting.
	AgeModel AgeImputationReport `json:"age_model"`
}

// Standardize walks every active contact in id order, in batches: values the
// current rules write differently are rewritten, values they reject are dropped
// and quarantined with the reason, a missing age is imputed (flagged: from
// product events by category when the contact has them, else the median of its
// country; ageModel), and the completeness score is stored.
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
	if ages != nil {
		res.AgeModel = ages.report
	}
	for {
		batch, err := a.Store.ContactsAfter(ctx, res.Cursor, in.MergesFrom, in.BatchSize)
		if err != nil {
			return res, err
		}
		if len(batch) == 0 {
			if in.MergesFrom == 0 { // a full pass: the day's completeness for the report
				return res, a.Store.SnapshotCompleteness(ctx, opts.Now)
			}
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
				if im, ok := ages.impute(c.ID, fields[kith.FieldCountry].Value); ok {
					fields[kith.FieldAge] = im.AsValue(opts.Now)
					res.Imputed++
					if im.Method == behaviourMethod {
						res.ImputedByBehaviour++
					}
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

// ageModel imputes missing ages: from behaviour — the k nearest neighbours over
// the shares of a contact's product events by category — for contacts with
// enough product events, else the median age of the contact's country. Both are
// fitted without a held-back sample of known ages, on which the report measures
// them side by side.
type ageModel struct {
	median, knn *quality.Imputer
	features    map[string][]float64 // by contact id, for contacts with behaviour
	report      AgeImputationReport
}

// AgeImputationReport is how well age imputation did on known ages it was not
// fitted on (every fifth contact with a known age and product events, by id).
type AgeImputationReport struct {
	HeldOut       int     `json:"held_out"`
	MAEBehaviour  float64 `json:"mae_behaviour_years"` // k nearest neighbours over product categories
	MAEMedian     float64 `json:"mae_median_years"`    // the country median, on the same contacts
	Categories    int     `json:"categories"`          // product categories used as features
	WithBehaviour int     `json:"with_behaviour"`      // contacts with enough product events
}

const (
	behaviourMethod     = "knn/product_categories"
	maxAgeCategories    = 24 // the most common product categories become features
	minBehaviourEvents  = 3  // product events a contact needs to be read by behaviour
	minBehaviourSamples = 20 // known ages with behaviour needed to fit the kNN
	behaviourNeighbours = 15
	heldOutEvery        = 5
	minAgeSamples       = 10 // known ages needed to impute at all
)

// fitAges fits the age model on the active contacts whose age or birth date is
// known (imputed ages are never learned from).
func (a *Cleaning) fitAges(ctx context.Context) (*ageModel, error) {
	type fact struct {
		id, country, age string
		cats             map[string]float64
	}
	var facts []fact
	totals := map[string]float64{}
	now := a.Now()
	err := a.Store.EachAgeFact(ctx, func(f kith.AgeFact) {
		v := f.Age
		if f.AgeImputed {
			v = ""
		}
		if f.BirthDate != "" {
			if t, err := time.Parse(time.DateOnly, f.BirthDate); err == nil {
				v = fmt.Sprint(quality.AgeOn(t, now))
			}
		}
		for c, n := range f.Categories {
			totals[c] += n
		}
		facts = append(facts, fact{f.ContactID, f.Country, v, f.Categories})
	})
	if err != nil {
		return nil, err
	}
	// Features: each contact's share of product events per common category.
	cats := make([]string, 0, len(totals))
	for c := range totals {
		cats = append(cats, c)
	}
	slices.SortFunc(cats, func(x, y string) int { return cmp.Or(cmp.Compare(totals[y], totals[x]), cmp.Compare(x, y)) })
	cats = cats[:min(len(cats), maxAgeCategories)]
	m := &ageModel{features: map[string][]float64{}}
	m.report.Categories = len(cats)
	var medianTrain, knnTrain, heldOut []quality.Sample
	for _, f := range facts {
		total := 0.0
		for _, n := range f.cats {
			total += n
		}
		var features []float64
		if total >= minBehaviourEvents && len(cats) > 0 {
			features = make([]float64, len(cats))
			for i, c := range cats {
				features[i] = f.cats[c] / total
			}
			m.features[f.id] = features
		}
		if f.age == "" {
			continue
		}
		s := quality.Sample{Values: map[kith.Field]string{kith.FieldAge: f.age}, Segment: f.country, Features: features}
		switch {
		case features != nil && heldBack(f.id):
			heldOut = append(heldOut, s)
		case features != nil:
			knnTrain = append(knnTrain, s)
			medianTrain = append(medianTrain, s)
		default:
			medianTrain = append(medianTrain, s)
		}
	}
	m.report.WithBehaviour = len(m.features)
	if len(medianTrain) < minAgeSamples {
		return nil, nil // too few to impute from
	}
	if m.median, err = quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyMedian, Field: kith.FieldAge, BySegment: true}, medianTrain); err != nil {
		return nil, err
	}
	if len(knnTrain) >= minBehaviourSamples {
		if m.knn, err = quality.Fit(quality.ImputeConfig{Strategy: quality.StrategyKNN, Field: kith.FieldAge, K: behaviourNeighbours}, knnTrain); err != nil {
			return nil, err
		}
	}
	if m.knn != nil && len(heldOut) > 0 {
		var errKNN, errMedian float64
		for _, s := range heldOut {
			truth, _ := strconv.Atoi(s.Values[kith.FieldAge])
			hidden := quality.Sample{Segment: s.Segment, Features: s.Features}
			k, _ := m.knn.Impute(hidden)
			md, _ := m.median.Impute(hidden)
			kv, _ := strconv.Atoi(k.Value)
			mv, _ := strconv.Atoi(md.Value)
			errKNN += math.Abs(float64(kv - truth))
			errMedian += math.Abs(float64(mv - truth))
		}
		n := float64(len(heldOut))
		m.report.HeldOut = len(heldOut)
		m.report.MAEBehaviour = math.Round(100*errKNN/n) / 100
		m.report.MAEMedian = math.Round(100*errMedian/n) / 100
	}
	return m, nil
}

// heldBack picks every heldOutEvery-th contact by a hash of its id: the same
// contacts on every run and every retry.
func heldBack(id string) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()%heldOutEvery == 0
}

// impute imputes a contact's missing age: by behaviour when it has product
// events and the model could be fitted, else by its country's median.
func (m *ageModel) impute(contactID, country string) (quality.Imputation, bool) {
	if f, ok := m.features[contactID]; ok && m.knn != nil {
		im, ok := m.knn.Impute(quality.Sample{Segment: country, Features: f})
		im.Method = behaviourMethod
		return im, ok
	}
	return m.median.Impute(quality.Sample{Segment: country})
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
