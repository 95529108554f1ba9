package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// sqlTxReadOnly reads a report's figures from one snapshot.
var sqlTxReadOnly = sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

// reportFields are the profile fields with a column of their own, in
// kith.ProfileFields order: the report counts which are missing.
var reportFields = []kith.Field{kith.FieldEmail, kith.FieldPhone, kith.FieldFirstName, kith.FieldLastName,
	kith.FieldBirthDate, kith.FieldAge, kith.FieldCountry, kith.FieldCity, kith.FieldPostalCode, kith.FieldAddress}

// violationField folds the per-message paths of an events request
// ("batch.12.timestamp", "message.timestamp") into the field they name, and a
// whole message's ("batch.12") into "message", so the report counts by field,
// not by position.
const violationField = `regexp_replace(regexp_replace(COALESCE(v->>'field', ''), '^batch\.[0-9]+$', 'message'), '^(batch\.[0-9]+|message)\.', '')`

// QualityReport implements kith.Reports: every figure is one SQL count, read in
// one repeatable-read transaction so the figures agree with each other.
func (s *Store) QualityReport(ctx context.Context, now time.Time) (kith.QualityReport, error) {
	r := kith.QualityReport{At: now.UTC()}
	tx, err := s.db.BeginTxx(ctx, &sqlTxReadOnly)
	if err != nil {
		return r, fmt.Errorf("begin report: %w", err)
	}
	defer tx.Rollback()
	steps := []struct {
		what string
		run  func(*sqlx.Tx) error
	}{
		{"contacts", func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &r.Contacts, `SELECT status AS key, count(*) AS n FROM contacts GROUP BY 1 ORDER BY 1`)
		}},
		{"violations by day", func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &r.ViolationsByDay, `SELECT (q.received_at AT TIME ZONE 'UTC')::date AS day,
					`+violationField+` AS field, COALESCE(v->>'code', '') AS code, count(*) AS n
				FROM quarantine q, jsonb_array_elements(q.violations) v
				WHERE q.received_at >= $1 AND COALESCE(v->>'severity', 'reject') = 'reject'
				GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, dayStart(now).AddDate(0, 0, -29))
		}},
		{"violations", func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &r.Violations, `SELECT `+violationField+` AS field, COALESCE(v->>'code', '') AS code, count(*) AS n
				FROM quarantine q, jsonb_array_elements(q.violations) v
				WHERE COALESCE(v->>'severity', 'reject') = 'reject'
				GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`)
		}},
		{"repairs", func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &r.Repairs, `SELECT field, code, sum(n)::bigint AS n FROM quality_findings
				GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`)
		}},
		{"quarantine", func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &r.Quarantine, `SELECT source, count(*) FILTER (WHERE resolved_at IS NULL) AS open,
					count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved
				FROM quarantine GROUP BY 1 ORDER BY 1`)
		}},
		{"merges", func(tx *sqlx.Tx) error { return s.reportDedup(ctx, tx, &r.Dedup) }},
		{"completeness", func(tx *sqlx.Tx) error { return reportCompleteness(ctx, tx, now, &r.Completeness) }},
		{"imputed values", func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &r.Imputed, `SELECT p.key AS field, COALESCE(p.value->>'method', '') AS method, count(*) AS n,
					COALESCE(avg((p.value->>'confidence')::float8), 0) AS meanconfidence
				FROM contacts c, jsonb_each(c.field_provenance) p
				WHERE c.status = 'active' AND (p.value->>'imputed')::boolean
				GROUP BY 1, 2 ORDER BY 1, 2`)
		}},
		{"archive", func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &r.Archived, `SELECT reason AS key, count(*) AS n FROM contacts_archive
				WHERE restored_at IS NULL GROUP BY 1 ORDER BY 1`)
		}},
		{"consent", func(tx *sqlx.Tx) error { return reportConsent(ctx, tx, &r.Consent) }},
		{"deliveries", func(tx *sqlx.Tx) error {
			// A failure's reason is the ESP's error text: only suppressions and caps
			// have a reason code worth counting.
			return tx.SelectContext(ctx, &r.Deliveries, `SELECT rule, status AS outcome,
					CASE WHEN status IN ('suppressed', 'capped') THEN COALESCE(reason, '') ELSE '' END AS reason, count(*) AS n
				FROM deliveries GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
		}},
		{"warehouse", func(tx *sqlx.Tx) error { return reportWarehouse(ctx, tx, &r.Warehouse) }},
	}
	for _, st := range steps {
		if err := st.run(tx); err != nil {
			return r, fmt.Errorf("quality report, %s: %w", st.what, err)
		}
	}
	for i := range r.ViolationsByDay {
		r.ViolationsByDay[i].Day = r.ViolationsByDay[i].Day.UTC()
	}
	return r, nil
}

func dayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func (s *Store) reportDedup(ctx context.Context, tx *sqlx.Tx, d *kith.DedupFigures) error {
	if err := tx.QueryRowxContext(ctx, `SELECT count(*) FILTER (WHERE undone_at IS NULL), count(*) FILTER (WHERE undone_at IS NOT NULL)
		FROM merges`).Scan(&d.Merged, &d.Undone); err != nil {
		return err
	}
	if err := tx.SelectContext(ctx, &d.MergedByActor, `SELECT actor AS key, count(*) AS n FROM merges
		WHERE undone_at IS NULL GROUP BY 1 ORDER BY 1`); err != nil {
		return err
	}
	if err := tx.QueryRowxContext(ctx, `SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'merge'),
			count(*) FILTER (WHERE status = 'keep_apart') FROM merge_reviews`).Scan(&d.ReviewPending, &d.ReviewMerged, &d.ReviewApart); err != nil {
		return err
	}
	var merged, all int
	if err := tx.QueryRowxContext(ctx, `SELECT count(*) FILTER (WHERE status = 'merged'), count(*) FROM contacts`).Scan(&merged, &all); err != nil {
		return err
	}
	if all > 0 {
		d.DuplicateShare = float64(merged) / float64(all)
	}
	var runs []kith.DedupRun
	if err := tx.SelectContext(ctx, &runs, `SELECT run_id AS runid, finished_at AS finishedat, contacts, comparisons, links, merged, review, rounds
		FROM dedup_runs ORDER BY finished_at DESC LIMIT 1`); err != nil {
		return err
	}
	if len(runs) == 1 {
		runs[0].FinishedAt = runs[0].FinishedAt.UTC()
		d.LastRun = &runs[0]
	}
	return nil
}

func reportCompleteness(ctx context.Context, tx *sqlx.Tx, now time.Time, c *kith.CompletenessFigures) error {
	var bands []struct {
		Band int `db:"band"`
		N    int `db:"n"`
	}
	if err := tx.SelectContext(ctx, &bands, `SELECT least(completeness / 10, 10) AS band, count(*) AS n FROM contacts
		WHERE status = 'active' AND completeness IS NOT NULL GROUP BY 1`); err != nil {
		return err
	}
	for _, b := range bands {
		c.Now[b.Band] = b.N
	}
	if err := tx.QueryRowxContext(ctx, `SELECT count(*) FILTER (WHERE completeness IS NULL), COALESCE(avg(completeness), 0)
		FROM contacts WHERE status = 'active'`).Scan(&c.Unscored, &c.Mean); err != nil {
		return err
	}
	var day []time.Time
	if err := tx.SelectContext(ctx, &day, `SELECT day FROM completeness_snapshots WHERE day <= $1 ORDER BY day DESC LIMIT 1`,
		dayStart(now).AddDate(0, 0, -30)); err != nil {
		return err
	}
	if len(day) == 1 {
		bands = bands[:0]
		if err := tx.SelectContext(ctx, &bands, `SELECT band, contacts AS n FROM completeness_snapshots WHERE day = $1`, day[0]); err != nil {
			return err
		}
		var before [kith.CompletenessBands]int
		for _, b := range bands {
			before[b.Band] = b.N
		}
		c.Before, c.BeforeDay = &before, day[0].UTC()
	}
	var missing, imputed []string
	for _, f := range reportFields {
		col := pq.QuoteIdentifier(string(f))
		missing = append(missing, fmt.Sprintf("count(*) FILTER (WHERE %s IS NULL OR %[1]s::text = '')", col))
		imputed = append(imputed, fmt.Sprintf("count(*) FILTER (WHERE %s IS NOT NULL AND COALESCE((field_provenance->'%s'->>'imputed')::boolean, false))", col, f))
	}
	vals := make([]any, 2*len(reportFields))
	counts := make([]int, 2*len(reportFields))
	for i := range vals {
		vals[i] = &counts[i]
	}
	if err := tx.QueryRowxContext(ctx, `SELECT `+strings.Join(append(missing, imputed...), ", ")+
		` FROM contacts WHERE status = 'active'`).Scan(vals...); err != nil {
		return err
	}
	c.Gains = make([]kith.FieldGain, len(reportFields))
	for i, f := range reportFields {
		c.Gains[i] = kith.FieldGain{Field: string(f), Missing: counts[i], Imputed: counts[len(reportFields)+i]}
	}
	return nil
}

// reportConsent counts active contacts by purpose and their latest consent's
// status; those with none for a purpose others have are "none".
func reportConsent(ctx context.Context, tx *sqlx.Tx, out *[]kith.ConsentCount) error {
	if err := tx.SelectContext(ctx, out, `WITH latest AS (
			SELECT DISTINCT ON (k.contact_id, k.purpose) k.purpose, k.status
			FROM consents k JOIN contacts c ON c.id = k.contact_id AND c.status = 'active'
			ORDER BY k.contact_id, k.purpose, k.recorded_at DESC, k.id DESC)
		SELECT purpose, status, count(*) AS n FROM latest GROUP BY 1, 2
		UNION ALL
		SELECT p.purpose, 'none', (SELECT count(*) FROM contacts WHERE status = 'active') - count(l.*)
		FROM (SELECT DISTINCT purpose FROM consents) p LEFT JOIN latest l ON l.purpose = p.purpose
		GROUP BY p.purpose
		ORDER BY 1, 2`); err != nil {
		return err
	}
	return nil
}

// reportWarehouse counts the rows of each star-schema view (what a full load
// would hold) with the table's load watermark; BigQuery's side is the caller's.
func reportWarehouse(ctx context.Context, tx *sqlx.Tx, out *[]kith.WarehouseTableCount) error {
	var views []string
	if err := tx.SelectContext(ctx, &views, `SELECT table_name FROM information_schema.views
		WHERE table_schema = 'warehouse' ORDER BY 1`); err != nil {
		return err
	}
	var marks []struct {
		Target    string    `db:"target"`
		Watermark time.Time `db:"watermark"`
	}
	if err := tx.SelectContext(ctx, &marks, `SELECT target, watermark FROM load_watermarks`); err != nil {
		return err
	}
	for _, v := range views {
		t := kith.WarehouseTableCount{Table: v, BigQuery: -1}
		if err := tx.GetContext(ctx, &t.Postgres, `SELECT count(*) FROM `+view(v)); err != nil {
			return err
		}
		for _, m := range marks {
			// Targets are dataset.table: a deployment loads one dataset.
			if strings.HasSuffix(m.Target, "."+v) && m.Watermark.After(t.Watermark) {
				t.Watermark = m.Watermark.UTC()
			}
		}
		*out = append(*out, t)
	}
	sort.Slice(*out, func(i, j int) bool { return (*out)[i].Table < (*out)[j].Table })
	return nil
}

// SnapshotCompleteness implements kith.CleaningStore.
func (s *Store) SnapshotCompleteness(ctx context.Context, day time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		d := dayStart(day)
		if _, err := tx.ExecContext(ctx, `DELETE FROM completeness_snapshots WHERE day = $1`, d); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO completeness_snapshots (day, band, contacts)
			SELECT $1, least(completeness / 10, 10), count(*) FROM contacts
			WHERE status = 'active' AND completeness IS NOT NULL GROUP BY 2`, d)
		return err
	})
}

// RecordDedupRun implements kith.DedupStore.
func (s *Store) RecordDedupRun(ctx context.Context, r kith.DedupRun) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO dedup_runs (run_id, finished_at, contacts, comparisons, links, merged, review, rounds)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (run_id) DO UPDATE SET finished_at = EXCLUDED.finished_at, contacts = EXCLUDED.contacts,
			comparisons = EXCLUDED.comparisons, links = EXCLUDED.links, merged = EXCLUDED.merged,
			review = EXCLUDED.review, rounds = EXCLUDED.rounds`,
		r.RunID, r.FinishedAt, r.Contacts, r.Comparisons, r.Links, r.Merged, r.Review, r.Rounds)
	return err
}

// writeFindings counts the findings of the inputs whose contact this write
// changes, by day, source, field and code (an input that changed nothing, like
// a redelivered webhook, found nothing new).
func writeFindings(ctx context.Context, tx *sqlx.Tx, now time.Time, in []kith.ContactInput, changed func(i int) bool) error {
	type key struct{ source, field, code string }
	counts := map[key]int{}
	for i, c := range in {
		if len(c.Findings) == 0 || !changed(i) {
			continue
		}
		src := string(kith.RecordProvenance(c.Fields).Source)
		for _, v := range c.Findings {
			counts[key{src, v.Field, v.Code}]++
		}
	}
	if len(counts) == 0 {
		return nil
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { // one order: concurrent writers never deadlock
		a, b := keys[i], keys[j]
		return a.source+"\x00"+a.field+"\x00"+a.code < b.source+"\x00"+b.field+"\x00"+b.code
	})
	var sources, fields, codes []string
	var ns []int64
	for _, k := range keys {
		sources, fields, codes, ns = append(sources, k.source), append(fields, k.field), append(codes, k.code), append(ns, int64(counts[k]))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO quality_findings (day, source, field, code, n)
		SELECT $1, s, f, c, n FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(s, f, c, n)
		ON CONFLICT (day, source, field, code) DO UPDATE SET n = quality_findings.n + EXCLUDED.n`,
		dayStart(now), pq.Array(sources), pq.Array(fields), pq.Array(codes), pq.Array(ns))
	return err
}
