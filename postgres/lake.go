package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// SpoolLines implements kith.LakeSpool: the lines go into the spool with the
// keyed hashes of the identifiers they hold. A line naming an erased person
// is not kept (the lake must not take back what an erasure removed); a line
// whose SpoolKey was written before is a no-op. The request path spools
// through a SpoolWriter (a group commit) instead.
func (s *Store) SpoolLines(ctx context.Context, lines []kith.LakeLine) error {
	if len(lines) == 0 {
		return nil
	}
	rows := s.spoolRows(lines)
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.insertSpool(ctx, tx, rows) })
}

// spoolLines spools lines in its caller's transaction (an import batch).
func (s *Store) spoolLines(ctx context.Context, tx *sqlx.Tx, lines []kith.LakeLine) error {
	return s.insertSpool(ctx, tx, s.spoolRows(lines))
}

// SpoolWriter is a group commit (groupCommit) in front of the spool for the
// request path: concurrent requests' lines go into the spool in one
// transaction, each request answered after that commit. A line's identifiers
// are found and hashed on its request's goroutine, not the writer's.
type SpoolWriter struct {
	Store *Store
	// MaxBatch bounds the lines of one transaction (default 256: a line can
	// be a whole 500 KB batch); Queue the requests waiting (default 1,024);
	// Writers the transactions in flight at once (default 2).
	MaxBatch, Queue, Writers int

	once sync.Once
	gc   *groupCommit[spoolRow, struct{}]
}

// SpoolLines implements kith.LakeSpool.
func (w *SpoolWriter) SpoolLines(ctx context.Context, lines []kith.LakeLine) error {
	w.once.Do(func() {
		w.gc = &groupCommit[spoolRow, struct{}]{maxBatch: cmp.Or(w.MaxBatch, 256), queue: w.Queue, writers: w.Writers,
			busy: "too many payloads are waiting to be kept; retry in a second",
			write: func(ctx context.Context, rows []spoolRow) ([]struct{}, error) {
				return nil, w.Store.inTx(ctx, func(tx *sqlx.Tx) error { return w.Store.insertSpool(ctx, tx, rows) })
			}}
	})
	if len(lines) == 0 {
		return nil
	}
	_, err := w.gc.do(ctx, w.Store.spoolRows(lines))
	return err
}

// spoolRow is a line ready for the spool: its payload as an object line
// needs it and the keys of the identifiers it holds.
type spoolRow struct {
	line    kith.LakeLine
	payload string
	keys    string // JSON array
}

// spoolRows prepares lines for the spool.
func (s *Store) spoolRows(lines []kith.LakeLine) []spoolRow {
	rows := make([]spoolRow, len(lines))
	for i, l := range lines {
		payload := kith.LakePayload(l.Payload)
		rows[i] = spoolRow{line: l, payload: string(payload), keys: jsonArray(s.hasher.LakeKeys(kith.LakeIdentifiers(payload)))}
	}
	return rows
}

// insertSpool is the one insert into the spool, in its caller's transaction.
// It holds the seal lock shared until that transaction ends: a sealer
// (exclusive) never sees a spool id allocated by a transaction that has not
// committed yet.
func (s *Store) insertSpool(ctx context.Context, tx *sqlx.Tx, rows []spoolRow) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, lakeSealLock); err != nil {
		return err
	}
	// What an anonymous caller had refused is kept within its budget, as the
	// quarantine keeps it: no flood fills the lake either.
	kept := rows[:0:0]
	for _, r := range rows {
		if r.line.Client != "" && r.line.Verdict == kith.VerdictQuarantined {
			ok, err := withinBudget(ctx, tx, kith.Quarantined{Client: r.line.Client, Payload: []byte(r.payload)}, cmp.Or(s.quarantineCap, DefaultQuarantineCap))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		kept = append(kept, r)
	}
	if len(kept) == 0 {
		return nil
	}
	n := len(kept)
	sources, received, hours, requests, refs, verdicts := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	codes, counts, payloads, keys, dedup := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range kept {
		l := r.line
		at := l.ReceivedAt.UTC()
		sources[i], received[i], hours[i] = string(l.Source), at.Format(time.RFC3339Nano), at.Truncate(time.Hour).Format(time.RFC3339)
		requests[i], refs[i], verdicts[i], dedup[i] = l.RequestID, l.Ref, l.Verdict, l.SpoolKey
		codes[i], payloads[i], keys[i] = jsonArray(l.Codes), r.payload, r.keys
		if len(l.Counts) > 0 {
			b, _ := json.Marshal(l.Counts)
			counts[i] = string(b)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO lake_spool (source, received_at, hour, request_id, ref, verdict, codes, counts, payload, keys, dedup_key)
		SELECT src, rat, hr, rid, ref, verdict, ARRAY(SELECT jsonb_array_elements_text(codes::jsonb)), NULLIF(counts, '')::jsonb,
			payload, ARRAY(SELECT jsonb_array_elements_text(keys::jsonb)), NULLIF(dk, '')
		FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
			AS l(src, rat, hr, rid, ref, verdict, codes, counts, payload, keys, dk)
		WHERE NOT EXISTS (SELECT 1 FROM lake_erasures e WHERE e.key IN (SELECT jsonb_array_elements_text(l.keys::jsonb)))
		ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING`,
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

// lakeSealLock orders sealing against spool inserts (pg_advisory_xact_lock
// key): inserts hold it shared, the sealer alone.
const lakeSealLock = 0x6b6974686c616b65 // "kithlake"

// SealLakeObject implements kith.LakeStore. Lines are not updated: an object
// is the range of its partition's spool ids past the partition's sealed_to,
// decided under the seal lock (no insert in flight, so no line can later
// commit into the range), recorded with its bounds, and its partition's
// sealed_to moved past it. Sealing 5,000 lines costs a few index reads and
// four small writes, where marking each line cost 50 ms.
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
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lakeSealLock); err != nil {
			return err
		}
		// Register the partitions of lines spooled since the last look.
		if _, err := tx.ExecContext(ctx, `WITH c AS (SELECT scanned FROM lake_cursor),
			m AS (SELECT max(id) AS top FROM lake_spool WHERE id > (SELECT scanned FROM c)),
			p AS (INSERT INTO lake_partitions (source, hour)
				SELECT DISTINCT source, hour FROM lake_spool WHERE id > (SELECT scanned FROM c) ON CONFLICT DO NOTHING)
			UPDATE lake_cursor SET scanned = m.top FROM m WHERE m.top IS NOT NULL`); err != nil {
			return fmt.Errorf("find new lake partitions: %w", err)
		}
		var from int64
		err := tx.QueryRowContext(ctx, `SELECT p.source, p.hour, p.sealed_to FROM lake_partitions p
			WHERE EXISTS (SELECT 1 FROM lake_spool s WHERE s.source = p.source AND s.hour = p.hour AND s.id > p.sealed_to)
			ORDER BY p.hour, p.source LIMIT 1`).Scan(&o.Source, &o.Hour, &from)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, octet_length(payload) FROM lake_spool
			WHERE source = $1 AND hour = $2 AND id > $3 ORDER BY id LIMIT $4`, o.Source, o.Hour, from, maxLines)
		if err != nil {
			return err
		}
		var first, last int64
		size := 0
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return err
			}
			if o.Lines > 0 && size+n > maxBytes {
				break
			}
			if o.Lines == 0 {
				first = id
			}
			last, size, o.Lines = id, size+n, o.Lines+1
		}
		rows.Close()
		if err := rows.Err(); err != nil || o.Lines == 0 {
			return err
		}
		o.Name = kith.LakeObjectName(o.Source, o.Hour, first)
		if _, err := tx.ExecContext(ctx, `INSERT INTO lake_objects (name, source, hour, first_id, last_id, lines) VALUES ($1, $2, $3, $4, $5, $6)`,
			o.Name, o.Source, o.Hour, first, last, o.Lines); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE lake_partitions SET sealed_to = $3 WHERE source = $1 AND hour = $2`, o.Source, o.Hour, last); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO lake_object_keys (key, object)
			SELECT DISTINCT unnest(keys), $1 FROM lake_spool WHERE source = $2 AND hour = $3 AND id BETWEEN $4 AND $5
			ON CONFLICT DO NOTHING`, o.Name, o.Source, o.Hour, first, last)
		sealed = err == nil
		return err
	})
	return o, sealed, err
}

// objectLines is the spool rows of an object: its partition's ids in its range.
const objectLines = `FROM lake_objects o JOIN lake_spool s ON s.source = o.source AND s.hour = o.hour
	AND s.id BETWEEN o.first_id AND o.last_id`

// LakeObjectLines implements kith.LakeStore.
func (s *Store) LakeObjectLines(ctx context.Context, name string) ([]kith.LakeLine, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.source, s.received_at, s.request_id, s.ref, s.verdict, s.codes, COALESCE(s.counts::text, ''), s.payload
		`+objectLines+` WHERE o.name = $1 ORDER BY s.id`, name)
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

// LakeObjectUploaded implements kith.LakeStore: the object's lines are
// archived from now on (its row says so; the lines are not rewritten).
func (s *Store) LakeObjectUploaded(ctx context.Context, name string, bytes int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE lake_objects SET uploaded_at = now(), bytes = $2 WHERE name = $1`, name, bytes)
	return err
}

// TrimLakeSpool implements kith.LakeStore, in batches so a large backlog never
// holds one long transaction.
func (s *Store) TrimLakeSpool(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, `DELETE FROM lake_spool WHERE id IN (
			SELECT s.id `+objectLines+` WHERE o.uploaded_at < $1 LIMIT 10000)`, before)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 10000 {
			// Partitions with no line left, a day after their hour (a late line
			// registers its partition again, from the start: nothing of it is
			// left to archive twice).
			_, err := s.db.ExecContext(ctx, `DELETE FROM lake_partitions p WHERE p.hour < $1::timestamptz - interval '1 day'
				AND NOT EXISTS (SELECT 1 FROM lake_spool s WHERE s.source = p.source AND s.hour = p.hour)`, before)
			return total, err
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

// LakeObjectsExpired implements kith.LakeStore: the objects' lines still in
// the spool go with them.
func (s *Store) LakeObjectsExpired(ctx context.Context, names []string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM lake_spool WHERE id IN (SELECT s.id `+objectLines+` WHERE o.name = ANY($1))`, pq.Array(names)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM lake_objects WHERE name = ANY($1)`, pq.Array(names))
		return err
	})
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
