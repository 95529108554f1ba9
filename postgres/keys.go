package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// refreshKeys recomputes the blocking keys and the match values of contacts
// in tx: an active contact's are those of its profile and of every source
// record it holds (through the contacts merged into it); any other contact
// has none. Every write that changes a contact's matching values, status or
// source records calls it for the contacts it touched. The keys are those of
// the match values written, so the two never disagree.
func refreshKeys(ctx context.Context, tx *sqlx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM contact_keys WHERE contact_id = ANY($1::uuid[])`, pq.Array(ids)); err != nil {
		return fmt.Errorf("clear blocking keys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM match_values WHERE holder_id = ANY($1::uuid[])`, pq.Array(ids)); err != nil {
		return fmt.Errorf("clear match values: %w", err)
	}
	var active []string
	if err := tx.SelectContext(ctx, &active, `SELECT id::text FROM contacts WHERE id = ANY($1::uuid[]) AND status = 'active' ORDER BY id`, pq.Array(ids)); err != nil {
		return fmt.Errorf("read contacts for blocking keys: %w", err)
	}
	if len(active) == 0 {
		return nil
	}
	if err := rewriteValues(ctx, tx, active); err != nil {
		return err
	}
	rows, err := readValues(ctx, tx, `match_values v WHERE v.holder_id = ANY($1::uuid[])`, pq.Array(active))
	if err != nil {
		return fmt.Errorf("blocking keys: %w", err)
	}
	keys := make(map[string][]int64, len(active))
	for _, row := range rows {
		keys[row.Holder] = append(keys[row.Holder], valuesKeys(row.Holder, row.Values)...)
	}
	return addKeys(ctx, tx, keys)
}

// foldKeys gives each survivor the match values (foldValues) and the
// blocking keys of the contacts merged into it and the keys of its new
// profile (newKeys: those none of its members' old profiles had, which the
// fold brings already), and takes the merged ones' away. It is what refreshKeys would leave, plus keys of values the survivor
// no longer shows (as an import leaves them): a survivor's keys are those of
// its profile and of every source record it holds, and a merged contact's
// keys were those of its own. Nothing is read back, which made merges about
// twice as fast; the merged contacts' keys are moved by one statement.
func foldKeys(ctx context.Context, tx *sqlx.Tx, survivorOf map[string]string, newKeys map[string][]int64) error {
	merged, survivors := make([]string, 0, len(survivorOf)), make([]string, 0, len(survivorOf))
	for m, s := range survivorOf {
		merged, survivors = append(merged, m), append(survivors, s)
	}
	if len(merged) > 0 {
		if err := foldValues(ctx, tx, merged, survivors); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `WITH moved AS (
				DELETE FROM contact_keys k USING unnest($1::uuid[], $2::uuid[]) AS u(m, s) WHERE k.contact_id = u.m
				RETURNING k.key, u.s)
			INSERT INTO contact_keys (key, contact_id) SELECT DISTINCT key, s FROM moved ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
			pq.Array(merged), pq.Array(survivors)); err != nil {
			return fmt.Errorf("fold blocking keys: %w", err)
		}
	}
	return addKeys(ctx, tx, newKeys)
}

// valuesKeys are the blocking keys of a match_values row's values.
func valuesKeys(holder string, vals []string) []int64 {
	r := dedup.RecordOfValues(holder, "", time.Time{}, time.Time{}, vals)
	return dedup.BlockingKeys(&r)
}

// profileKeys are the blocking keys of a contact's profile.
func profileKeys(c *kith.Contact) []int64 {
	r := dedup.RecordOf(c.ID, "", c.CreatedAt, c.UpdatedAt, c.Get)
	return dedup.BlockingKeys(&r)
}

// addKeys writes active contacts' blocking keys (a key already there stays),
// in key order so concurrent writers never deadlock.
func addKeys(ctx context.Context, tx *sqlx.Tx, keys map[string][]int64) error {
	type row struct {
		key int64
		id  string
	}
	var rows []row
	for id, ks := range keys {
		for _, k := range ks {
			rows = append(rows, row{k, id})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Or(cmp.Compare(a.key, b.key), strings.Compare(a.id, b.id)) })
	rows = slices.Compact(rows)
	ks, owners := make([]int64, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		ks[i], owners[i] = r.key, r.id
	}
	// Only active contacts are candidates (an import may reach an archived one).
	if _, err := tx.ExecContext(ctx, `INSERT INTO contact_keys (key, contact_id)
		SELECT t.k, c.id FROM unnest($1::bigint[], $2::uuid[]) AS t(k, id) JOIN contacts c ON c.id = t.id AND c.status = 'active'
		ORDER BY t.k, c.id ON CONFLICT DO NOTHING`,
		pq.Array(ks), pq.Array(owners)); err != nil {
		return fmt.Errorf("write blocking keys: %w", err)
	}
	return nil
}

// backfillBatch is how many contacts one backfill transaction keys.
const backfillBatch = 2000

// backfillKeys keys the contacts a migration found without keys, a batch per
// transaction, resuming at the stored cursor; it marks the backfill done.
func (s *Store) backfillKeys(ctx context.Context) error {
	for {
		var cursor string
		var done bool
		if err := s.db.QueryRowContext(ctx, `SELECT cursor, done_at IS NOT NULL FROM backfills WHERE name = 'contact_keys'`).Scan(&cursor, &done); err != nil {
			return fmt.Errorf("contact keys backfill: %w", err)
		}
		if done {
			return nil
		}
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			var ids []string
			if err := tx.SelectContext(ctx, &ids, `SELECT id::text FROM contacts WHERE status = 'active' AND id::text > $1
				ORDER BY id::text LIMIT $2`, cursor, backfillBatch); err != nil {
				return err
			}
			if err := refreshKeys(ctx, tx, ids); err != nil {
				return err
			}
			if len(ids) < backfillBatch {
				_, err := tx.ExecContext(ctx, `UPDATE backfills SET done_at = now() WHERE name = 'contact_keys'`)
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE backfills SET cursor = $1 WHERE name = 'contact_keys'`, ids[len(ids)-1])
			return err
		})
		if err != nil {
			return fmt.Errorf("contact keys backfill: %w", err)
		}
	}
}
