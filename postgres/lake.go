package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
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
// holds it and the keys of the identifiers it holds (found and hashed on the
// goroutine of the request that sent it, not the group commit's writer).
type spoolRow struct {
	line kith.LakeLine
	keys []string
}

// spoolRows prepares lines for the spool.
func (s *Store) spoolRows(lines []kith.LakeLine) []spoolRow {
	rows := make([]spoolRow, len(lines))
	for i, l := range lines {
		l.Payload = kith.LakePayload(l.Payload)
		rows[i] = spoolRow{line: l, keys: s.hasher.LakeKeys(kith.LakeIdentifiers(l.Payload))}
	}
	return rows
}

// A segment of the spool holds at most segmentLines lines and, unless it is
// one line, segmentBytes of text: objects are made of whole segments, so
// these bound how finely an object's size can be chosen.
const segmentLines, segmentBytes = 64, 1 << 20

// insertSpool is the one insert into the spool, in its caller's transaction.
// It holds the seal lock shared until that transaction ends: a sealer
// (exclusive) never sees a spool id allocated by a transaction that has not
// committed yet. Lines naming an erased person, lines written before (their
// SpoolKey) and an anonymous caller's refusals past its budget are left out;
// the rest go in as segments of one source and hour, in order.
func (s *Store) insertSpool(ctx context.Context, tx *sqlx.Tx, rows []spoolRow) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, lakeSealLock); err != nil {
		return err
	}
	kept, err := s.keepSpooled(ctx, tx, rows)
	if err != nil || len(kept) == 0 {
		return err
	}
	var order []spoolPartition
	parts := map[spoolPartition][]spoolRow{}
	for _, r := range kept {
		p := partitionOf(r.line)
		if _, ok := parts[p]; !ok {
			order = append(order, p)
		}
		parts[p] = append(parts[p], r)
	}
	var sources, hours, keys []string
	var lines []int
	var sizes, crcs []int64
	var data [][]byte
	for _, p := range order {
		for seg, err := range segmentsOf(parts[p]) {
			if err != nil {
				return err
			}
			sources, hours, keys = append(sources, string(p.source)), append(hours, p.hour.Format(time.RFC3339)), append(keys, indexKeys(seg.keys))
			lines, sizes, crcs, data = append(lines, seg.Lines), append(sizes, seg.Size), append(crcs, int64(seg.CRC)), append(data, seg.Data)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO lake_spool (source, hour, lines, bytes, crc, data, keys)
		SELECT src, hr, n, size, crc, data, keys::bigint[]
		FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::bigint[], $5::bigint[], $6::bytea[], $7::text[])
			WITH ORDINALITY AS l(src, hr, n, size, crc, data, keys, i) ORDER BY i`,
		pq.Array(sources), pq.Array(hours), pq.Array(lines), pq.Array(sizes), pq.Array(crcs), pq.ByteaArray(data), pq.Array(keys))
	if err != nil {
		return fmt.Errorf("spool %d lake lines: %w", len(kept), err)
	}
	return nil
}

// keepSpooled leaves out of rows the lines the spool must not take: a line
// naming an erased person (the lake must not take back what an erasure
// removed), a line whose SpoolKey was written before, and what an anonymous
// caller had refused past its budget (kept as the quarantine keeps it: no
// flood fills the lake either).
func (s *Store) keepSpooled(ctx context.Context, tx *sqlx.Tx, rows []spoolRow) ([]spoolRow, error) {
	var keys, named, sources, hours []string
	for _, r := range rows {
		keys = append(keys, r.keys...)
		if r.line.SpoolKey != "" {
			p := partitionOf(r.line)
			named, sources, hours = append(named, r.line.SpoolKey), append(sources, string(p.source)), append(hours, p.hour.Format(time.RFC3339))
		}
	}
	var erased, fresh []string
	if len(keys) > 0 {
		if err := tx.SelectContext(ctx, &erased, `SELECT DISTINCT key FROM lake_erasures WHERE key = ANY($1)`, pq.Array(keys)); err != nil {
			return nil, err
		}
	}
	if len(named) > 0 {
		if err := tx.SelectContext(ctx, &fresh, `INSERT INTO lake_spool_keys (dedup_key, source, hour)
			SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING RETURNING dedup_key`,
			pq.Array(named), pq.Array(sources), pq.Array(hours)); err != nil {
			return nil, err
		}
	}
	gone, unwritten := setOf(erased), setOf(fresh)
	kept := rows[:0:0]
	for _, r := range rows {
		if slices.ContainsFunc(r.keys, func(k string) bool { return gone[k] }) || r.line.SpoolKey != "" && !unwritten[r.line.SpoolKey] {
			continue
		}
		delete(unwritten, r.line.SpoolKey) // a key twice in one call: the first line
		if r.line.Client != "" && r.line.Verdict == kith.VerdictQuarantined {
			ok, err := withinBudget(ctx, tx, kith.Quarantined{Client: r.line.Client, Payload: r.line.Payload}, cmp.Or(s.quarantineCap, DefaultQuarantineCap))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		kept = append(kept, r)
	}
	return kept, nil
}

// spoolPartition is the source and UTC hour a line is archived under.
type spoolPartition struct {
	source kith.LakeSource
	hour   time.Time
}

func partitionOf(l kith.LakeLine) spoolPartition {
	return spoolPartition{l.Source, l.ReceivedAt.UTC().Truncate(time.Hour)}
}

func setOf(v []string) map[string]bool {
	set := make(map[string]bool, len(v))
	for _, k := range v {
		set[k] = true
	}
	return set
}

// spoolSegment is a segment of the spool and the identifier keys of its lines.
type spoolSegment struct {
	kith.LakeSegment
	keys []string
}

// segmentsOf makes the segments of one partition's rows, in order. They are
// compressed here, in the transaction that knows every line's verdict (the
// events API's is known only after its events are written): one stream of
// up to segmentLines lines compresses to within a fifth of a whole object's
// stream, where a request's payload compressed alone took four times that.
func segmentsOf(rows []spoolRow) iter.Seq2[spoolSegment, error] {
	return func(yield func(spoolSegment, error) bool) {
		for len(rows) > 0 {
			n, size := 0, 0
			for n < len(rows) && n < segmentLines && (n == 0 || size+len(rows[n].line.Payload) <= segmentBytes) {
				size += len(rows[n].line.Payload)
				n++
			}
			var seg spoolSegment
			lines := make([]kith.LakeLine, n)
			for i, r := range rows[:n] {
				lines[i] = r.line
				seg.keys = append(seg.keys, r.keys...)
			}
			var err error
			seg.LakeSegment, err = kith.CompressLakeLines(lines)
			if !yield(seg, err) || err != nil {
				return
			}
			rows = rows[n:]
		}
	}
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
	sealed := false
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
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
		// Whole segments, as many as fit (a first segment over the bounds
		// alone), read a page at a time: a partition's backlog can be many
		// objects long.
		var first, last int64
		size, full := 0, false
		for after := from; !full; {
			var page []struct{ ID, Lines, Bytes int }
			if err := tx.SelectContext(ctx, &page, `SELECT id, lines, bytes FROM lake_spool
				WHERE source = $1 AND hour = $2 AND id > $3 ORDER BY id LIMIT 1024`, o.Source, o.Hour, after); err != nil {
				return err
			}
			for _, seg := range page {
				if o.Lines > 0 && (o.Lines+seg.Lines > maxLines || size+seg.Bytes > maxBytes) {
					full = true
					break
				}
				if o.Lines == 0 {
					first = int64(seg.ID)
				}
				last, size, o.Lines = int64(seg.ID), size+seg.Bytes, o.Lines+seg.Lines
			}
			if len(page) < 1024 {
				break
			}
			after = int64(page[len(page)-1].ID)
		}
		if o.Lines == 0 {
			return nil
		}
		o.Name = kith.LakeObjectName(o.Source, o.Hour, first)
		if _, err := tx.ExecContext(ctx, `UPDATE lake_partitions SET sealed_to = $3 WHERE source = $1 AND hour = $2`, o.Source, o.Hour, last); err != nil {
			return err
		}
		// Its identifier index is written when its segments leave the spool
		// (indexLakeObjects): until then they are its index.
		_, err = tx.ExecContext(ctx, `INSERT INTO lake_objects (name, source, hour, first_id, last_id, lines) VALUES ($1, $2, $3, $4, $5, $6)`,
			o.Name, o.Source, o.Hour, first, last, o.Lines)
		sealed = err == nil
		return err
	})
	return o, sealed, err
}

// PendingLakeObjects implements kith.LakeStore.
func (s *Store) PendingLakeObjects(ctx context.Context) ([]kith.LakeObject, error) {
	var out []kith.LakeObject
	rows, err := s.db.QueryContext(ctx, `SELECT name, source, hour, lines FROM lake_objects
		WHERE uploaded_at IS NULL ORDER BY sealed_at, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var o kith.LakeObject
		if err := rows.Scan(&o.Name, &o.Source, &o.Hour, &o.Lines); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// indexKeys is the array literal of the index keys of identifier hashes
// (hex): each one's first 64 bits, as the spool's segments and the objects
// keep them (one bigint an identifier, not 64 characters; arrays under a GIN
// index). Two identifiers sharing them only make an erasure read lines it
// leaves as they were: what is removed is decided on each line's own hashes.
func indexKeys(hashes []string) string {
	seen := make(map[int64]bool, len(hashes))
	b := []byte{'{'}
	for _, h := range hashes {
		u, err := strconv.ParseUint(h[:min(len(h), 16)], 16, 64)
		if err != nil || seen[int64(u)] {
			continue
		}
		seen[int64(u)] = true
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(u), 10)
	}
	return string(append(b, '}'))
}

// indexLakeObjects writes the identifier index of the objects matching where
// (a condition on lake_objects o, with args) that have none yet, from the
// keys of their segments, a hundred objects a statement. An object is indexed when
// its segments are about to leave the spool or be rewritten: until then its
// segments are its index, and sealing (in the archive's path) writes nothing
// for it (indexing 50,000 lines' identifiers there took a third of the
// archive's PostgreSQL time).
func indexLakeObjects(ctx context.Context, q sqlx.ExecerContext, where string, args ...any) error {
	for {
		res, err := q.ExecContext(ctx, `INSERT INTO lake_object_index (object, keys)
			SELECT o.name, ARRAY(SELECT unnest(s.keys) FROM lake_spool s
				WHERE s.source = o.source AND s.hour = o.hour AND s.id BETWEEN o.first_id AND o.last_id)
			FROM lake_objects o WHERE `+where+` AND NOT EXISTS (SELECT 1 FROM lake_object_index i WHERE i.object = o.name)
			ORDER BY o.name LIMIT 100 ON CONFLICT DO NOTHING`, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n < 100 {
			return nil
		}
	}
}

// objectLines is the spool segments of an object: its partition's ids in its range.
const objectLines = `FROM lake_objects o JOIN lake_spool s ON s.source = o.source AND s.hour = o.hour
	AND s.id BETWEEN o.first_id AND o.last_id`

// WriteLakeObject implements kith.LakeStore: the object's segments written
// as they are read, not a line decoded (a line spooled as text before
// segments is compressed here).
func (s *Store) WriteLakeObject(ctx context.Context, name string, w io.Writer) (int, int64, error) {
	// A prepared statement: lib/pq then reads bytea in binary, not as hex
	// text (a third of the time). The range's bounds as init plans: read in
	// the primary key's order, not joined and sorted (11 MB sorted on disk).
	st, err := s.db.PrepareContext(ctx, `SELECT s.lines, s.bytes, s.crc, s.data FROM lake_spool s
		WHERE s.id BETWEEN (SELECT first_id FROM lake_objects WHERE name = $1) AND (SELECT last_id FROM lake_objects WHERE name = $1)
			AND (s.source, s.hour) = (SELECT source, hour FROM lake_objects WHERE name = $1)
		ORDER BY s.id`)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	rows, err := st.QueryContext(ctx, name)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	obj := kith.NewLakeObjectWriter(w)
	for rows.Next() {
		var lines int
		var size int64
		var crc sql.NullInt64
		var data sql.RawBytes // the driver's buffer, written before the next row
		if err := rows.Scan(&lines, &size, &crc, &data); err != nil {
			return 0, 0, err
		}
		if err := obj.Add(spooledSegment(lines, size, crc, data)); err != nil {
			return 0, 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	if err := obj.Close(); err != nil {
		return 0, 0, err
	}
	return obj.Lines(), obj.Written(), nil
}

// spooledSegment is a spool row's segment; a row without a CRC holds a line
// spooled as its text before segments, compressed now.
func spooledSegment(lines int, size int64, crc sql.NullInt64, data []byte) kith.LakeSegment {
	if !crc.Valid {
		return kith.CompressLakeText(data)
	}
	return kith.LakeSegment{Data: data, CRC: uint32(crc.Int64), Size: size, Lines: lines}
}

// spoolSegments reads the rows of a query of segments (id, lines, bytes,
// crc, data), in its order.
func spoolSegments(rows *sql.Rows, err error) ([]int64, []kith.LakeSegment, error) {
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []int64
	var out []kith.LakeSegment
	for rows.Next() {
		var id, size int64
		var lines int
		var crc sql.NullInt64
		var data []byte
		if err := rows.Scan(&id, &lines, &size, &crc, &data); err != nil {
			return nil, nil, err
		}
		ids, out = append(ids, id), append(out, spooledSegment(lines, size, crc, data))
	}
	return ids, out, rows.Err()
}

// SpooledLines are the lines of a source waiting in the spool (all of them:
// for tests and for a look at what has not been archived yet).
func (s *Store) SpooledLines(ctx context.Context, src kith.LakeSource) ([]kith.LakeLine, error) {
	_, segs, err := spoolSegments(s.db.QueryContext(ctx, `SELECT id, lines, bytes, crc, data FROM lake_spool WHERE source = $1 ORDER BY id`, src))
	if err != nil {
		return nil, err
	}
	return kith.DecodeLakeObject(kith.JoinLakeSegments(segs...))
}

// LakeObjectUploaded implements kith.LakeStore: the object's lines are
// archived from now on (its row says so; the spool is not rewritten).
func (s *Store) LakeObjectUploaded(ctx context.Context, name string, lines int, bytes int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE lake_objects SET uploaded_at = now(), lines = $2, bytes = $3 WHERE name = $1`, name, lines, bytes)
	return err
}

// TrimLakeSpool implements kith.LakeStore, in batches so a large backlog never
// holds one long transaction.
func (s *Store) TrimLakeSpool(ctx context.Context, before time.Time) (int64, error) {
	if err := indexLakeObjects(ctx, s.db, `o.uploaded_at < $1`, before); err != nil {
		return 0, fmt.Errorf("index lake objects: %w", err)
	}
	var total int64
	for {
		var segments, lines int64
		err := s.db.QueryRowContext(ctx, `WITH d AS (DELETE FROM lake_spool WHERE id IN (
			SELECT s.id `+objectLines+` WHERE o.uploaded_at < $1 LIMIT 1000) RETURNING lines)
			SELECT count(*), COALESCE(sum(lines), 0) FROM d`, before).Scan(&segments, &lines)
		if err != nil {
			return total, err
		}
		total += lines
		if segments < 1000 {
			// Partitions with no line left, a day after their hour (a late line
			// registers its partition again, from the start: nothing of it is
			// left to archive twice).
			_, err := s.db.ExecContext(ctx, `DELETE FROM lake_partitions p WHERE p.hour < $1::timestamptz - interval '1 day'
				AND NOT EXISTS (SELECT 1 FROM lake_spool s WHERE s.source = p.source AND s.hour = p.hour)`, before)
			if err != nil {
				return total, err
			}
			// The names of lines written again go with their partition's last segment.
			_, err = s.db.ExecContext(ctx, `DELETE FROM lake_spool_keys k WHERE k.hour < $1
				AND NOT EXISTS (SELECT 1 FROM lake_spool s WHERE s.source = k.source AND s.hour = k.hour)`, before)
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
	err := s.db.SelectContext(ctx, &objects, `SELECT o.name FROM lake_object_index k JOIN lake_objects o ON o.name = k.object
		WHERE k.keys && $1::bigint[] AND o.uploaded_at IS NOT NULL ORDER BY o.name`, indexKeys(keys))
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
		var erased []string
		if err := tx.SelectContext(ctx, &erased, `SELECT key FROM lake_erasures WHERE contact_id = $1`, contactID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE lake_object_index SET keys = ARRAY(SELECT unnest(keys) EXCEPT SELECT unnest($2::bigint[]))
			WHERE object = $1`, name, indexKeys(erased))
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
	// Their segments are written again without their lines, once the
	// objects holding them are indexed (an uploaded one still holds the
	// lines, and EraseLake finds it through its index).
	segIDs, segs, err := spoolSegments(tx.QueryContext(ctx, `SELECT id, lines, bytes, crc, data FROM lake_spool WHERE keys && $1::bigint[] ORDER BY id FOR UPDATE`, indexKeys(keys)))
	if err != nil {
		return 0, fmt.Errorf("read spooled lines: %w", err)
	}
	if err := indexLakeObjects(ctx, tx, `o.name IN (SELECT c.name FROM lake_spool s JOIN lake_objects c ON c.source = s.source AND c.hour = s.hour
		AND s.id BETWEEN c.first_id AND c.last_id WHERE s.id = ANY($1))`, pq.Array(segIDs)); err != nil {
		return 0, fmt.Errorf("index lake objects: %w", err)
	}
	erased := setOf(keys)
	var removed int64
	for i, seg := range segs {
		lines, err := kith.DecodeLakeObject(kith.JoinLakeSegments(seg))
		if err != nil {
			return 0, fmt.Errorf("spool segment %d: %w", segIDs[i], err)
		}
		kept := s.hasher.LakeLinesWithout(lines, erased)
		removed += int64(len(lines) - len(kept))
		if len(kept) == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM lake_spool WHERE id = $1`, segIDs[i])
		} else {
			var left kith.LakeSegment
			if left, err = kith.CompressLakeLines(kept); err == nil {
				var keys []string
				for _, r := range s.spoolRows(kept) {
					keys = append(keys, r.keys...)
				}
				_, err = tx.ExecContext(ctx, `UPDATE lake_spool SET lines = $2, bytes = $3, crc = $4, data = $5, keys = $6::bigint[]
					WHERE id = $1`, segIDs[i], left.Lines, left.Size, int64(left.CRC), left.Data, indexKeys(keys))
			}
		}
		if err != nil {
			return 0, fmt.Errorf("rewrite spool segment %d: %w", segIDs[i], err)
		}
	}
	return removed, nil
}
