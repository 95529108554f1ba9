package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
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
	if _, err := tx.ExecContext(ctx, `DELETE FROM contact_keys WHERE contact_id = ANY($1::uuid[])`, uuids(ids)); err != nil {
		return fmt.Errorf("clear blocking keys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM match_values WHERE holder_id = ANY($1::uuid[])`, uuids(ids)); err != nil {
		return fmt.Errorf("clear match values: %w", err)
	}
	var active []string
	if err := tx.SelectContext(ctx, &active, `SELECT id::text FROM contacts WHERE id = ANY($1::uuid[]) AND status = 'active' ORDER BY id`, uuids(ids)); err != nil {
		return fmt.Errorf("read contacts for blocking keys: %w", err)
	}
	if len(active) == 0 {
		return nil
	}
	if err := rewriteValues(ctx, tx, active); err != nil {
		return err
	}
	rows, err := readValues(ctx, tx, `match_values v WHERE v.holder_id = ANY($1::uuid[])`, uuids(active))
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
// blocking keys of the contacts merged into it and of its new profile
// (profiles: each rewritten survivor's new profile's keys), and takes the
// merged ones' away: what refreshKeys would leave, without reading anything
// back. The keys written are those a survivor gains, computed here from the
// values the fold moved and its new profile, less those it had: of its
// profile before (oldKeys) and of the records it held (read before the fold).
// Most of a duplicate's keys are its survivor's already: moved by one
// statement (ON CONFLICT DO NOTHING), each was looked up at random in the key
// index, about ten a merged contact at 10M contacts for 2.5 million keys
// gained by 1.6 million merges, and that statement was a third of the merges'
// database time.
func foldKeys(ctx context.Context, tx *sqlx.Tx, survivorOf map[string]string, oldKeys, profiles map[string][]int64) error {
	merged, survivors := make([]string, 0, len(survivorOf)), make([]string, 0, len(survivorOf))
	for m, s := range survivorOf {
		merged, survivors = append(merged, m), append(survivors, s)
	}
	var held []holderValues
	if err := tx.SelectContext(ctx, &held, `SELECT holder_id::text AS holder_id, vals FROM match_values
		WHERE holder_id = ANY($1::uuid[]) AND source <> ''`,
		uuids(survivors)); err != nil {
		return fmt.Errorf("read survivors' match values: %w", err)
	}
	moved, err := foldValues(ctx, tx, merged, survivors)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM contact_keys WHERE contact_id = ANY($1::uuid[])`, uuids(merged)); err != nil {
		return fmt.Errorf("drop merged contacts' blocking keys: %w", err)
	}
	has := map[string]map[int64]bool{} // by survivor
	gained := map[string][]int64{}
	add := func(survivor string, keys []int64, gain bool) {
		if has[survivor] == nil {
			has[survivor] = map[int64]bool{}
		}
		for _, k := range keys {
			if !has[survivor][k] {
				has[survivor][k] = true
				if gain {
					gained[survivor] = append(gained[survivor], k)
				}
			}
		}
	}
	for id, ks := range oldKeys {
		add(id, ks, false)
	}
	for _, h := range held {
		add(h.Holder, valuesKeys(h.Holder, h.Vals), false)
	}
	for id, ks := range profiles {
		add(id, ks, true)
	}
	for _, m := range moved {
		add(survivorOf[m.Holder], valuesKeys(m.Holder, m.Vals), true)
	}
	return addKeys(ctx, tx, gained)
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
	// Only active contacts are candidates (an import may reach an archived
	// one). Each is looked up once, by id: joined to the keys instead (an
	// import batch's 27,000 for 5,000 contacts), the planner read the whole
	// contacts table for every batch while it held up to about half a million.
	if _, err := tx.ExecContext(ctx, `INSERT INTO contact_keys (key, contact_id)
		SELECT t.k, t.id FROM unnest($1::bigint[], $2::uuid[]) AS t(k, id)
		WHERE t.id IN (SELECT id FROM contacts WHERE id = ANY($3::uuid[]) AND status = 'active')
		ORDER BY t.k, t.id ON CONFLICT DO NOTHING`,
		pq.Array(ks), uuids(owners), uuids(slices.Collect(maps.Keys(keys)))); err != nil {
		return fmt.Errorf("write blocking keys: %w", err)
	}
	return nil
}

// backfillBatch is how many contacts one backfill transaction keys.
const backfillBatch = 2000

// keyBackfill is a backfill of blocking keys: the active contacts it
// recomputes (refreshKeys), a condition on contacts, looked for in windows of
// window contacts in id order, one transaction a window.
type keyBackfill struct {
	which  string
	window int
}

// keyBackfills are the backfills of blocking keys, by their names in the
// backfills table.
var keyBackfills = map[string]keyBackfill{
	// 0019: contacts made before the keys were kept.
	"contact_keys": {"TRUE", backfillBatch},
	// 0028: "steve" stood for stephen in some processes and steven in others
	// (dedup's nicknames were built by ranging over a map), so the keys of a
	// contact with the name, in its profile or a record it holds, depended on
	// the process that wrote them.
	"contact_keys_steve": {`(lower(first_name) = 'steve' OR lower(last_name) = 'steve'
		OR EXISTS (SELECT FROM match_values v, unnest(v.vals) x WHERE v.holder_id = contacts.id AND lower(x) = 'steve'))`, 50000},
}

// backfillKeys runs the keys backfills migrations asked for (keyBackfills):
// a batch of contacts per transaction, resuming at each one's stored cursor;
// each is marked done when it reaches the last contact.
func (s *Store) backfillKeys(ctx context.Context) error {
	var names []string
	if err := s.db.SelectContext(ctx, &names, `SELECT name FROM backfills WHERE done_at IS NULL ORDER BY name`); err != nil {
		return fmt.Errorf("keys backfills: %w", err)
	}
	for _, name := range names {
		b, ok := keyBackfills[name]
		if !ok {
			return fmt.Errorf("backfill %s: this build does not know it (a newer one asked for it)", name)
		}
		if err := s.backfill(ctx, name, b); err != nil {
			return fmt.Errorf("backfill %s: %w", name, err)
		}
	}
	return nil
}

// backfill recomputes the keys of b's contacts, from the stored cursor on.
func (s *Store) backfill(ctx context.Context, name string, b keyBackfill) error {
	for {
		var cursor string
		var done bool
		if err := s.db.QueryRowContext(ctx, `SELECT cursor, done_at IS NOT NULL FROM backfills WHERE name = $1`, name).Scan(&cursor, &done); err != nil {
			return err
		}
		if done {
			return nil
		}
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			// The window's last contact, matching or not, is where the next
			// starts. In uuid order, which is the text order of the cursors
			// stored before, and the primary key's.
			var ids []string
			var last string
			err := tx.QueryRowContext(ctx, `SELECT id::text FROM (SELECT id FROM contacts WHERE status = 'active'
				AND id > coalesce(nullif($1, '')::uuid, '00000000-0000-0000-0000-000000000000') ORDER BY id LIMIT $2) w ORDER BY id DESC LIMIT 1`, cursor, b.window).Scan(&last)
			if errors.Is(err, sql.ErrNoRows) {
				_, err := tx.ExecContext(ctx, `UPDATE backfills SET done_at = now() WHERE name = $1`, name)
				return err
			} else if err != nil {
				return err
			}
			if err := tx.SelectContext(ctx, &ids, `SELECT id::text FROM contacts WHERE status = 'active'
				AND id > coalesce(nullif($1, '')::uuid, '00000000-0000-0000-0000-000000000000') AND id <= $2::uuid AND `+b.which+` ORDER BY id`, cursor, last); err != nil {
				return err
			}
			if err := refreshKeys(ctx, tx, ids); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE backfills SET cursor = $1 WHERE name = $2`, last, name)
			return err
		})
		if err != nil {
			return err
		}
	}
}
