package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// match_values (migration 0025) holds what de-duplication compares of each
// active contact: its profile's row and a row for each source record it
// holds. The writers below are its only writers, each a statement that reads
// the row's values from where they are stored (contacts, source_records), so
// a row is always what a read through the merge tree would find.

// valuesColumns are match_values' columns in the order the writers select them.
const valuesColumns = `holder_id, source, ref, created_at, email_source, at, vals`

// readColumns are valuesColumns of match_values v, as readValues scans them.
var readColumns = strings.ReplaceAll("v."+valuesColumns, ", ", ", v.")

// matchArray is the SQL of a row's vals: each of dedup.MatchFields as col
// reads it, empty for none.
func matchArray(col func(f kith.Field) string) string {
	vals := make([]string, len(dedup.MatchFields))
	for i, f := range dedup.MatchFields {
		vals[i] = "coalesce(" + col(f) + ", '')"
	}
	return "ARRAY[" + strings.Join(vals, ", ") + "]"
}

var (
	// profileValues selects the profile rows of contacts c.
	profileValues = `SELECT c.id, '', c.id::text, c.created_at, coalesce(` + provenanceSQL(kith.FieldEmail, "source") + `, ''), c.updated_at, ` +
		matchArray(func(f kith.Field) string { return "c." + string(f) + "::text" }) + ` FROM contacts c`
	// recordValues are the columns after holder_id of a source record s's row.
	recordValues = `s.source, s.ref, NULL::timestamptz, '', s.observed_at, ` +
		matchArray(func(f kith.Field) string { return "s.fields->>'" + string(f) + "'" })
)

// writeProfileValues writes the profile rows of the active contacts that
// where (on contacts c) selects, replacing what they had.
func writeProfileValues(ctx context.Context, tx *sqlx.Tx, where string, args ...any) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO match_values (`+valuesColumns+`) `+profileValues+`
		WHERE c.status = 'active' AND `+where+` ORDER BY 3
		ON CONFLICT (source, ref) DO UPDATE SET created_at = EXCLUDED.created_at, email_source = EXCLUDED.email_source,
			at = EXCLUDED.at, vals = EXCLUDED.vals`, args...); err != nil {
		return fmt.Errorf("write profiles' match values: %w", err)
	}
	return nil
}

// writeArrivedValues writes the rows of source records just written, each
// held by the contact its input went to when that one is active. A record
// stored before keeps its holder (its row moves only with merges), as the
// record keeps its contact; its values are the stored ones, newest kept.
func writeArrivedValues(ctx context.Context, tx *sqlx.Tx, sources, refs, holders []string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO match_values (`+valuesColumns+`)
		SELECT DISTINCT ON (s.source, s.ref) t.h, `+recordValues+`
		FROM unnest($1::text[], $2::text[], $3::uuid[]) AS t(src, ref, h)
			JOIN source_records s ON s.source = t.src AND s.ref = t.ref
			JOIN contacts c ON c.id = t.h AND c.status = 'active'
		ORDER BY s.source, s.ref
		ON CONFLICT (source, ref) DO UPDATE SET at = EXCLUDED.at, vals = EXCLUDED.vals`,
		pq.Array(sources), pq.Array(refs), uuids(holders)); err != nil {
		return fmt.Errorf("write source records' match values: %w", err)
	}
	return nil
}

// rewriteValues writes every row of the given active contacts from what is
// stored: their profiles', and those of the source records of every contact
// in their merge trees (rows held elsewhere before move to them). The
// caller has deleted their rows.
func rewriteValues(ctx context.Context, tx *sqlx.Tx, active []string) error {
	if err := writeProfileValues(ctx, tx, `c.id = ANY($1::uuid[])`, uuids(active)); err != nil {
		return err
	}
	rootOf, err := mergeTree(ctx, tx, active)
	if err != nil {
		return err
	}
	ids, holders := make([]string, 0, len(rootOf)), make([]string, 0, len(rootOf))
	for id, root := range rootOf {
		ids, holders = append(ids, id), append(holders, root)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO match_values (`+valuesColumns+`)
		SELECT u.h, `+recordValues+` FROM unnest($1::uuid[], $2::uuid[]) AS u(id, h) JOIN source_records s ON s.contact_id = u.id
		ORDER BY s.source, s.ref
		ON CONFLICT (source, ref) DO UPDATE SET holder_id = EXCLUDED.holder_id, at = EXCLUDED.at, vals = EXCLUDED.vals`,
		uuids(ids), uuids(holders)); err != nil {
		return fmt.Errorf("write held records' match values: %w", err)
	}
	return nil
}

// foldValues gives each survivor the rows of the contacts merged into it and
// drops the merged profiles' rows; the survivors' new profiles are written
// with them (writeContacts). It returns the values of every row it moved or
// dropped, each as a holderValues of the merged contact that had it.
func foldValues(ctx context.Context, tx *sqlx.Tx, merged, survivors []string) ([]holderValues, error) {
	var out []holderValues
	if err := tx.SelectContext(ctx, &out, `DELETE FROM match_values WHERE holder_id = ANY($1::uuid[]) AND source = ''
		RETURNING holder_id::text AS holder_id, vals`, uuids(merged)); err != nil {
		return nil, fmt.Errorf("drop merged profiles' match values: %w", err)
	}
	var moved []holderValues
	if err := tx.SelectContext(ctx, &moved, `UPDATE match_values v SET holder_id = u.s FROM unnest($1::uuid[], $2::uuid[]) AS u(m, s)
		WHERE v.holder_id = u.m RETURNING u.m::text AS holder_id, v.vals`, uuids(merged), uuids(survivors)); err != nil {
		return nil, fmt.Errorf("move merged records' match values: %w", err)
	}
	return append(out, moved...), nil
}

// holderValues are the values of a match_values row, with its holder.
type holderValues struct {
	Holder string    `db:"holder_id"`
	Vals   matchVals `db:"vals"`
}

// readHolders reads the match_values rows of the holders that query (one
// column of ids) selects, each holder's rows by index (OFFSET 0 keeps the
// planner from joining them otherwise) and the holders in id order, so that
// neighbouring lookups share index pages. Joined by hash, PostgreSQL read the
// whole table for each of a part's reads and each page range of the model's
// pass: 55 such reads took 75 s at 1M contacts, and the table grows with the
// list while a part does not. A record whose values are its holder's
// profile's is not sent: the matching set drops it anyway (matchSetOf), and
// it is three rows in four of an imported list (at 1M, a part's read sent
// 299,000 rows in 2.3 s instead of 507,000 in 2.8 s). The profile's values
// come from a window over the rows as the join gives them, already in holder
// order, so each holder's rows are looked up once: a part of a 10M list
// (317,763 holders) read in 2.6 s against 2.95 s with a second lookup for the
// profile, which touched 4.4 million buffers instead of 2.5 million. (A window
// inside the lateral lookup cost a sort for each holder.)
func readHolders(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) ([]kith.MatchRow, error) {
	return readValues(ctx, q, `(SELECT v.*, max(v.vals) FILTER (WHERE v.source = '') OVER (PARTITION BY h.id) AS profile
			FROM (SELECT * FROM (`+query+`) q ORDER BY 1) AS h (id)
			CROSS JOIN LATERAL (SELECT * FROM match_values v WHERE v.holder_id = h.id OFFSET 0) v) v
		WHERE v.source = '' OR v.profile IS NULL OR v.vals <> v.profile`, args...)
}

// bigRead runs f in a read transaction set for reads of hundreds of
// thousands of rows: work_mem for their sorts and hashes (the default 4 MB
// spilled a part's to disk: a quarter of 1M contacts read in 3.3 s, 2.8 s
// without spilling), and no JIT compilation, which cost each read 0.2 s of
// compiling for plans that are index lookups.
func (s *Store) bigRead(ctx context.Context, f func(tx *sqlx.Tx) error) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '256MB'; SET LOCAL jit = off`); err != nil {
			return err
		}
		return f(tx)
	})
}

// emailAt is the email's place in dedup.MatchFields.
var emailAt = slices.Index(dedup.MatchFields, kith.FieldEmail)

// readValues reads the match_values rows v that from (a FROM clause and its
// conditions) selects, by holder in id order, each holder's profile first and
// its records in source and ref order. (A holder whose profile row was not
// read starts with a record: matchSetOf takes it for no candidate.)
func readValues(ctx context.Context, q sqlx.QueryerContext, from string, args ...any) ([]kith.MatchRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+readColumns+` FROM `+from, args...)
	if err != nil {
		return nil, fmt.Errorf("read match values: %w", err)
	}
	defer rows.Close()
	var out []kith.MatchRow
	for rows.Next() {
		var r kith.MatchRow
		var created sql.NullTime
		var vals matchVals
		if err := rows.Scan(&r.Holder, &r.Source, &r.Ref, &created, &r.EmailSource, &r.At, &vals); err != nil {
			return nil, fmt.Errorf("match values of %s: %w", r.Holder, err)
		}
		r.CreatedAt, r.Values = created.Time, vals
		if r.Source == "" && (emailAt >= len(r.Values) || r.Values[emailAt] == "") {
			r.EmailSource = "" // a profile without an email has no email source
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b kith.MatchRow) int {
		return cmp.Or(strings.Compare(a.Holder, b.Holder), strings.Compare(string(a.Source), string(b.Source)), strings.Compare(a.Ref, b.Ref))
	})
	return out, nil
}

// matchVals is match_values' vals as every reader scans it (textArray).
type matchVals []string

// Scan implements sql.Scanner.
func (v *matchVals) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return fmt.Errorf("vals: a %T, not text", src)
	}
	var err error
	*v, err = textArray(b)
	return err
}

// textArray parses PostgreSQL's text form of a one-dimensional text[]
// without NULLs, as match_values' vals are. The elements are substrings of
// one copy of b, unless quoted with escapes: a part's read is millions of
// rows of a dozen values, and pq.StringArray, which copies each element
// twice, was a twentieth of a worker's time and much of its garbage. Its
// errors say where, never what: the values are a person's.
func textArray(b []byte) ([]string, error) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, errors.New("not a one-dimensional array")
	}
	s := string(b[1 : len(b)-1])
	if s == "" {
		return []string{}, nil
	}
	out := make([]string, 0, len(dedup.MatchFields))
	for i := 0; ; {
		var el string
		if s[i] == '"' {
			j, escaped := i+1, false
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					escaped = true
					j++
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("an unterminated quoted element at byte %d", i+1)
			}
			el, i = s[i+1:j], j+1
			if escaped {
				var u strings.Builder
				for k := 0; k < len(el); k++ {
					if el[k] == '\\' {
						k++
					}
					u.WriteByte(el[k])
				}
				el = u.String()
			}
		} else {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			el, i = s[i:i+j], i+j
			switch {
			case strings.EqualFold(el, "NULL"):
				return nil, fmt.Errorf("a NULL element at byte %d", i-len(el)+1)
			case strings.ContainsAny(el, `{}"`):
				return nil, fmt.Errorf("a nested array or stray quote at byte %d", i-len(el)+1)
			}
		}
		out = append(out, el)
		if i == len(s) {
			return out, nil
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("no comma at byte %d", i+1)
		}
		i++
		if i == len(s) {
			return nil, errors.New("a trailing comma")
		}
	}
}
