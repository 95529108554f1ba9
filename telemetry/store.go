package telemetry

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kithhq/kith"
)

// Store exports the state of the canonical store as metrics: the figures of the
// quality report (kith.QualityReport), so a dashboard and the report page never
// disagree. The report is read at most once per TTL (default 30 s) whatever the
// scrape rate, and bounded by Timeout (default 20 s). Every API replica exports
// the same figures: aggregate them with max, not sum (docs/operations.md).
type Store struct {
	Report  func(ctx context.Context) (kith.QualityReport, error)
	TTL     time.Duration
	Timeout time.Duration
	Log     *slog.Logger

	mu      sync.Mutex
	last    kith.QualityReport
	read    time.Time
	lastErr error
}

var (
	descUp           = prometheus.NewDesc("kith_store_report_up", "1 when the last read of the store's figures succeeded.", nil, nil)
	descReportAge    = prometheus.NewDesc("kith_store_report_age_seconds", "Age of the store figures these metrics show.", nil, nil)
	descContacts     = prometheus.NewDesc("kith_contacts", "Contacts by status (active, archived, merged).", []string{"status"}, nil)
	descQuarantine   = prometheus.NewDesc("kith_quarantine_records", "Quarantined inputs held, by source and state (open, resolved).", []string{"source", "state"}, nil)
	descViolations   = prometheus.NewDesc("kith_quarantine_violations", "Refused values held in quarantine, by field and code.", []string{"field", "code"}, nil)
	descRepairs      = prometheus.NewDesc("kith_quality_repairs_total", "Values kept after a repair or with a warning at ingestion, by field and code.", []string{"field", "code"}, nil)
	descMerges       = prometheus.NewDesc("kith_merges", "Merges recorded, by state (in_force, undone).", []string{"state"}, nil)
	descReviews      = prometheus.NewDesc("kith_merge_reviews", "Pairs in the de-duplication review queue, by status (pending, merge, keep_apart).", []string{"status"}, nil)
	descDedupRun     = prometheus.NewDesc("kith_dedup_last_run_timestamp_seconds", "When the latest de-duplication run finished.", nil, nil)
	descDedupMerged  = prometheus.NewDesc("kith_dedup_last_run_merged", "Contacts the latest de-duplication run merged.", nil, nil)
	descCompleteness = prometheus.NewDesc("kith_contact_completeness", "Active contacts by completeness band (0 = 0-9 points … 10 = 100; unscored).", []string{"band"}, nil)
	descImputed      = prometheus.NewDesc("kith_imputed_values", "Imputed values on active contacts, by field and method.", []string{"field", "method"}, nil)
	descArchived     = prometheus.NewDesc("kith_archived_contacts", "Archived contacts, by reason.", []string{"reason"}, nil)
	descConsent      = prometheus.NewDesc("kith_consent_contacts", "Active contacts by consent purpose and latest status (none: never asked).", []string{"purpose", "status"}, nil)
	descDeliveries   = prometheus.NewDesc("kith_deliveries", "Triggered messages held, by rule, outcome and suppression reason (a gauge: a message moves from sending to accepted or failed, and a replay moves it back).", []string{"rule", "outcome", "reason"}, nil)
	descWarehouse    = prometheus.NewDesc("kith_warehouse_source_rows", "Rows of each star-schema table in PostgreSQL's view of it (what a full load holds).", []string{"table"}, nil)
	descLag          = prometheus.NewDesc("kith_warehouse_load_lag_seconds", "Time since each star-schema table's load watermark.", []string{"table"}, nil)
)

// Describe sends nothing: the metrics' label values come from the store (an
// unchecked collector).
func (s *Store) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	r, read, err := s.report()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		if read.IsZero() {
			return
		}
	} else {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	}
	ch <- prometheus.MustNewConstMetric(descReportAge, prometheus.GaugeValue, time.Since(read).Seconds())
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, c := range r.Contacts {
		gauge(descContacts, float64(c.N), c.Key)
	}
	for _, q := range r.Quarantine {
		gauge(descQuarantine, float64(q.Open), q.Source, "open")
		gauge(descQuarantine, float64(q.Resolved), q.Source, "resolved")
	}
	sumBy(r.Violations, func(c kith.FieldCount) { gauge(descViolations, float64(c.N), c.Field, c.Code) })
	sumBy(r.Repairs, func(c kith.FieldCount) { counter(descRepairs, float64(c.N), c.Field, c.Code) })
	gauge(descMerges, float64(r.Dedup.Merged), "in_force")
	gauge(descMerges, float64(r.Dedup.Undone), "undone")
	gauge(descReviews, float64(r.Dedup.ReviewPending), "pending")
	gauge(descReviews, float64(r.Dedup.ReviewMerged), "merge")
	gauge(descReviews, float64(r.Dedup.ReviewApart), "keep_apart")
	if run := r.Dedup.LastRun; run != nil {
		gauge(descDedupRun, float64(run.FinishedAt.Unix()))
		gauge(descDedupMerged, float64(run.Merged))
	}
	for band, n := range r.Completeness.Now {
		gauge(descCompleteness, float64(n), strconv.Itoa(band))
	}
	gauge(descCompleteness, float64(r.Completeness.Unscored), "unscored")
	for _, im := range r.Imputed {
		gauge(descImputed, float64(im.N), Field(im.Field), im.Method)
	}
	for _, a := range r.Archived {
		gauge(descArchived, float64(a.N), a.Key)
	}
	for _, c := range r.Consent {
		gauge(descConsent, float64(c.N), c.Purpose, c.Status)
	}
	for _, d := range r.Deliveries {
		gauge(descDeliveries, float64(d.N), d.Rule, d.Outcome, d.Reason)
	}
	for _, w := range r.Warehouse {
		gauge(descWarehouse, float64(w.Postgres), w.Table)
		if !w.Watermark.IsZero() {
			gauge(descLag, r.At.Sub(w.Watermark).Seconds(), w.Table)
		}
	}
}

// sumBy reports field counts with their field bounded (Field), adding up
// those that fold into one label set.
func sumBy(cs []kith.FieldCount, f func(kith.FieldCount)) {
	type key struct{ field, code string }
	var order []key
	sum := map[key]int{}
	for _, c := range cs {
		k := key{Field(c.Field), c.Code}
		if _, ok := sum[k]; !ok {
			order = append(order, k)
		}
		sum[k] += c.N
	}
	for _, k := range order {
		f(kith.FieldCount{Field: k.field, Code: k.code, N: sum[k]})
	}
}

// report returns the cached report, reading it again when older than TTL.
func (s *Store) report() (kith.QualityReport, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ttl, timeout := s.TTL, s.Timeout
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	if !s.read.IsZero() && time.Since(s.read) < ttl {
		return s.last, s.read, s.lastErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := s.Report(ctx)
	s.lastErr = err
	if err != nil {
		if s.Log != nil {
			s.Log.Error("store metrics not read", "error", err)
		}
		return s.last, s.read, err
	}
	s.last, s.read = r, time.Now()
	return s.last, s.read, nil
}

// knownFields are the field names a label may carry: the profile's and the
// events API's. Anything else (a client's own property path) is "other".
var knownFields = func() map[string]bool {
	m := map[string]bool{"": true}
	for _, f := range kith.ProfileFields {
		m[string(f)] = true
	}
	for _, f := range []string{"type", "event", "name", "timestamp", "sentAt", "messageId", "userId", "anonymousId",
		"traits", "properties", "context", "batch", "message", "writeKey", "previousId", "groupId", "consent", "purpose", "body"} {
		m[f] = true
	}
	return m
}()

// Field bounds a field label.
func Field(f string) string {
	if knownFields[f] {
		return f
	}
	return "other"
}
