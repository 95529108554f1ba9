package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// SpoolLines implements kith.LakeSpool: the lines go into the spool with the
// keyed hashes of the identifiers they hold. A line naming an erased person
// is not kept (the lake must not take back what an erasure removed); a line
// whose SpoolKey was written before is a no-op.
func (s *Store) SpoolLines(ctx context.Context, lines []kith.LakeLine) error {
	return spoolLines(ctx, s.db, s.hasher, lines)
}

// spoolLines is the one insert into the spool, in a transaction of its caller
// (an import batch, a CRM page) or on its own (a request).
func spoolLines(ctx context.Context, q sqlx.ExecerContext, h kith.IdentityHasher, lines []kith.LakeLine) error {
	if len(lines) == 0 {
		return nil
	}
	n := len(lines)
	sources, received, hours, requests, refs, verdicts := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	codes, counts, payloads, keys, dedup := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, l := range lines {
		at := l.ReceivedAt.UTC()
		sources[i], received[i], hours[i] = string(l.Source), at.Format(time.RFC3339Nano), at.Truncate(time.Hour).Format(time.RFC3339)
		requests[i], refs[i], verdicts[i], dedup[i] = l.RequestID, l.Ref, l.Verdict, l.SpoolKey
		codes[i] = jsonArray(l.Codes)
		if len(l.Counts) > 0 {
			b, _ := json.Marshal(l.Counts)
			counts[i] = string(b)
		}
		payload := l.Payload
		if len(payload) == 0 {
			payload = json.RawMessage("null")
		}
		payloads[i] = string(payload)
		keys[i] = jsonArray(h.LakeKeys(kith.LakeIdentifiers(payload)))
	}
	_, err := q.ExecContext(ctx, `INSERT INTO lake_spool (source, received_at, hour, request_id, ref, verdict, codes, counts, payload, keys, dedup_key)
		SELECT src, rat, hr, rid, ref, verdict, ARRAY(SELECT jsonb_array_elements_text(codes::jsonb)), NULLIF(counts, '')::jsonb,
			payload, ARRAY(SELECT jsonb_array_elements_text(keys::jsonb)), NULLIF(dk, '')
		FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
			AS l(src, rat, hr, rid, ref, verdict, codes, counts, payload, keys, dk)
		WHERE NOT EXISTS (SELECT 1 FROM lake_erasures e WHERE e.key IN (SELECT jsonb_array_elements_text(l.keys::jsonb)))
		ON CONFLICT (dedup_key) DO NOTHING`,
		pq.Array(sources), pq.Array(received), pq.Array(hours), pq.Array(requests), pq.Array(refs), pq.Array(verdicts),
		pq.Array(codes), pq.Array(counts), pq.Array(payloads), pq.Array(keys), pq.Array(dedup))
	if err != nil {
		return fmt.Errorf("spool %d lake lines: %w", n, err)
	}
	return nil
}

func jsonArray(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// SealLakeObject implements kith.LakeStore.
func (s *Store) SealLakeObject(ctx context.Context, maxLines, maxBytes int) (kith.LakeObject, bool, error) {
	var o kith.LakeObject
	err := s.db.QueryRowContext(ctx, `SELECT name, source, hour, lines FROM lake_objects
		WHERE uploaded_at IS NULL ORDER BY sealed_at, name LIMIT 1`).Scan(&o.Name, &o.Source, &o.Hour, &o.Lines)
	if err == nil {
		return o, true, nil // sealed by an attempt that did not finish: the same lines again
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return o, false, err
	}
	sealed := false
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT source, hour FROM lake_spool WHERE object IS NULL ORDER BY id LIMIT 1`).Scan(&o.Source, &o.Hour)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, octet_length(payload) FROM lake_spool
			WHERE object IS NULL AND source = $1 AND hour = $2 ORDER BY id LIMIT $3 FOR UPDATE`, o.Source, o.Hour, maxLines)
		if err != nil {
			return err
		}
		var ids []int64
		size := 0
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return err
			}
			if len(ids) > 0 && size+n > maxBytes {
				break
			}
			ids, size = append(ids, id), size+n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil // taken by another archiver meanwhile
		}
		o.Name, o.Lines = kith.LakeObjectName(o.Source, o.Hour, ids[0]), len(ids)
		if _, err := tx.ExecContext(ctx, `INSERT INTO lake_objects (name, source, hour, lines) VALUES ($1, $2, $3, $4)`,
			o.Name, o.Source, o.Hour, o.Lines); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE lake_spool SET object = $1 WHERE id = ANY($2)`, o.Name, pq.Array(ids)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO lake_object_keys (key, object)
			SELECT DISTINCT unnest(keys), $1 FROM lake_spool WHERE object = $1 ON CONFLICT DO NOTHING`, o.Name)
		sealed = err == nil
		return err
	})
	return o, sealed, err
}

// LakeObjectLines implements kith.LakeStore.
func (s *Store) LakeObjectLines(ctx context.Context, name string) ([]kith.LakeLine, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, received_at, request_id, ref, verdict, codes, COALESCE(counts::text, ''), payload
		FROM lake_spool WHERE object = $1 ORDER BY id`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kith.LakeLine
	for rows.Next() {
		var l kith.LakeLine
		var counts, payload string
		if err := rows.Scan(&l.Source, &l.ReceivedAt, &l.RequestID, &l.Ref, &l.Verdict, pq.Array(&l.Codes), &counts, &payload); err != nil {
			return nil, err
		}
		l.ReceivedAt = l.ReceivedAt.UTC()
		if counts != "" {
			if err := json.Unmarshal([]byte(counts), &l.Counts); err != nil {
				return nil, err
			}
		}
		if len(l.Codes) == 0 {
			l.Codes = nil
		}
		l.Payload = json.RawMessage(payload)
		out = append(out, l)
	}
	return out, rows.Err()
}

// LakeObjectUploaded implements kith.LakeStore.
func (s *Store) LakeObjectUploaded(ctx context.Context, name string, bytes int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE lake_objects SET uploaded_at = now(), bytes = $2 WHERE name = $1`, name, bytes); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE lake_spool SET archived_at = now() WHERE object = $1 AND archived_at IS NULL`, name)
		return err
	})
}

// TrimLakeSpool implements kith.LakeStore, in batches so a large backlog never
// holds one long transaction.
func (s *Store) TrimLakeSpool(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, `DELETE FROM lake_spool WHERE id IN (
			SELECT id FROM lake_spool WHERE archived_at < $1 LIMIT 10000)`, before)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 10000 {
			return total, nil
		}
	}
}

// ExpiredLakeObjects implements kith.LakeStore.
func (s *Store) ExpiredLakeObjects(ctx context.Context, before time.Time, limit int) ([]string, error) {
	var names []string
	err := s.db.SelectContext(ctx, &names, `SELECT name FROM lake_objects WHERE hour < $1 AND uploaded_at IS NOT NULL
		ORDER BY name LIMIT $2`, before, limit)
	return names, err
}

// LakeObjectsExpired implements kith.LakeStore.
func (s *Store) LakeObjectsExpired(ctx context.Context, names []string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM lake_objects WHERE name = ANY($1)`, pq.Array(names))
	return err
}

// LakeErasure implements kith.LakeStore.
func (s *Store) LakeErasure(ctx context.Context, contactID string) ([]string, []string, error) {
	var keys, objects []string
	if err := s.db.SelectContext(ctx, &keys, `SELECT key FROM lake_erasures WHERE contact_id = $1 ORDER BY key`, contactID); err != nil {
		return nil, nil, err
	}
	if len(keys) == 0 {
		return nil, nil, nil
	}
	err := s.db.SelectContext(ctx, &objects, `SELECT DISTINCT k.object FROM lake_object_keys k
		JOIN lake_objects o ON o.name = k.object AND o.uploaded_at IS NOT NULL
		WHERE k.key = ANY($1) ORDER BY k.object`, pq.Array(keys))
	return keys, objects, err
}

// LakeObjectRewritten implements kith.LakeStore.
func (s *Store) LakeObjectRewritten(ctx context.Context, contactID, name string, lines int) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO lake_erasure_objects (contact_id, object, lines_left) VALUES ($1, $2, $3)
			ON CONFLICT (contact_id, object) DO UPDATE SET lines_left = EXCLUDED.lines_left`, contactID, name, lines); err != nil {
			return err
		}
		if lines == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM lake_objects WHERE name = $1`, name)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE lake_objects SET lines = $2 WHERE name = $1`, name, lines); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM lake_object_keys WHERE object = $1
			AND key IN (SELECT key FROM lake_erasures WHERE contact_id = $2)`, name, contactID)
		return err
	})
}

// eraseLakeSpool records the lake keys of an erased person's identifiers and
// deletes their lines still in the spool: the PostgreSQL step's part of the
// lake's erasure (EraseLake rewrites the objects after it).
func (s *Store) eraseLakeSpool(ctx context.Context, tx *sqlx.Tx, contactID string, ids []kith.Identity) (int64, error) {
	var values []string
	for _, id := range ids {
		switch id.Kind {
		case kith.IdentityEmail:
			values = append(values, strings.ToLower(id.Value))
		case kith.IdentityAnonymous, kith.IdentityUser:
			values = append(values, id.Value)
		case kith.IdentityPhone:
			values = append(values, kith.PhoneDigits(id.Value))
		}
	}
	keys := s.hasher.AllLakeKeys(values)
	if len(keys) == 0 {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO lake_erasures (contact_id, key) SELECT $1, unnest($2::text[])
		ON CONFLICT DO NOTHING`, contactID, pq.Array(keys)); err != nil {
		return 0, fmt.Errorf("note lake keys: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM lake_spool WHERE keys && $1`, pq.Array(keys))
	if err != nil {
		return 0, fmt.Errorf("delete spooled lines: %w", err)
	}
	return res.RowsAffected()
}
