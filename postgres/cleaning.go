package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// firstID is before every contact id, as a cursor's start.
const firstID = "00000000-0000-0000-0000-000000000000"

// ContactsAfter returns up to limit active contacts with ids after the cursor, in
// id order: the cleaning's batches. With mergesFrom, only the survivors of the
// merges recorded from that merge id on (and not undone).
func (s *Store) ContactsAfter(ctx context.Context, after string, mergesFrom int64, limit int) ([]kith.Contact, error) {
	after = cmp.Or(after, firstID)
	if mergesFrom == 0 {
		return s.contacts(ctx, `WHERE c.status = 'active' AND c.id > $1 ORDER BY c.id LIMIT $2`, after, limit)
	}
	return s.contacts(ctx, `WHERE c.status = 'active' AND c.id > $1
		AND c.id IN (SELECT survivor_id FROM merges WHERE id >= $3 AND undone_at IS NULL) ORDER BY c.id LIMIT $2`, after, limit, mergesFrom)
}

// EachAgeFact calls f with every active contact's age, birth date, country and
// product events by category, reading those columns only.
func (s *Store) EachAgeFact(ctx context.Context, f func(kith.AgeFact)) error {
	rows, err := s.db.QueryContext(ctx, `
		WITH cats AS (
			SELECT e.contact_id, lower(x.cat) AS category, count(*) AS n
			FROM events e
			CROSS JOIN LATERAL (
				SELECT e.properties->>'category' AS cat
				UNION ALL
				SELECT p->>'category' FROM jsonb_array_elements(
					CASE WHEN jsonb_typeof(e.properties->'products') = 'array' THEN e.properties->'products' ELSE '[]'::jsonb END) p
			) x
			WHERE e.contact_id IS NOT NULL AND x.cat <> ''
				AND e.type IN ('Product Viewed', 'Product Added', 'Product Clicked', 'Order Completed')
			GROUP BY 1, 2),
		behaviour AS (SELECT contact_id, jsonb_object_agg(category, n) AS by_category FROM cats GROUP BY 1)
		SELECT c.id::text, COALESCE(c.age::text, ''), COALESCE(c.birth_date::text, ''), COALESCE(c.country::text, ''),
			COALESCE((c.field_provenance->'age'->>'imputed')::boolean, false), COALESCE(b.by_category, '{}')
		FROM contacts c LEFT JOIN behaviour b ON b.contact_id = c.id
		WHERE c.status = 'active' ORDER BY c.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a kith.AgeFact
		var cats []byte
		if err := rows.Scan(&a.ContactID, &a.Age, &a.BirthDate, &a.Country, &a.AgeImputed, &cats); err != nil {
			return err
		}
		if err := json.Unmarshal(cats, &a.Categories); err != nil {
			return fmt.Errorf("product categories of %s: %w", a.ContactID, err)
		}
		f(a)
	}
	return rows.Err()
}

// CleanContacts writes a batch of cleaned contacts — changed fields, scores and
// quarantined values — in one transaction. A contact that changed since it was
// read (ingestion runs meanwhile) is left alone: the next run sees the new
// version. It returns how many contacts it wrote.
func (s *Store) CleanContacts(ctx context.Context, batch []kith.CleanedContact, q []kith.Quarantined) (int, error) {
	written := 0
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.quarantine(ctx, tx, q); err != nil {
			return err
		}
		ids := make([]string, len(batch))
		for i, c := range batch {
			ids[i] = c.Contact.ID
		}
		rows, err := tx.QueryContext(ctx, `SELECT id::text, updated_at FROM contacts WHERE id = ANY($1::uuid[]) FOR UPDATE`, pq.Array(ids))
		if err != nil {
			return err
		}
		updated := make(map[string]time.Time, len(ids))
		for rows.Next() {
			var id string
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return err
			}
			updated[id] = at
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var rewrite []*kith.Contact
		var scoreIDs []string
		var scores []int64
		for _, c := range batch {
			if at, ok := updated[c.Contact.ID]; !ok || !at.Equal(c.Contact.UpdatedAt) {
				continue
			}
			if c.Fields != nil {
				w := c.Contact
				w.Fields = c.Fields
				w.UpdatedAt = s.now().UTC()
				rewrite = append(rewrite, &w)
			}
			scoreIDs = append(scoreIDs, c.Contact.ID)
			scores = append(scores, int64(c.Completeness))
		}
		if err := writeContacts(ctx, tx, rewrite); err != nil {
			return err
		}
		rewritten := make([]string, len(rewrite))
		for i, c := range rewrite {
			rewritten[i] = c.ID
		}
		if err := refreshKeys(ctx, tx, rewritten); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE contacts c SET completeness = u.score
			FROM unnest($1::uuid[], $2::int[]) AS u(id, score)
			WHERE c.id = u.id AND c.completeness IS DISTINCT FROM u.score`, pq.Array(scoreIDs), pq.Array(scores))
		written = len(scoreIDs)
		return err
	})
	return written, err
}

// ArchiveContacts archives active contacts that hard-bounced, that withdrew
// email marketing, or that showed no engagement (no event) since before and were
// created before it. Each is archived once, under the first reason that applies.
func (s *Store) ArchiveContacts(ctx context.Context, before time.Time) (kith.ArchiveCounts, error) {
	var n kith.ArchiveCounts
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, r := range []struct {
			reason string
			where  string
			count  *int
		}{
			// A hard bounce first: the ESP's bounce also withdraws consent, and the
			// reason kept should be the bounce. The address is on the suppression
			// list (the ESP's event webhook), or an imported event says so.
			{"hard_bounce", `(EXISTS (SELECT 1 FROM suppressions s WHERE s.email = lower(c.email) AND s.reason = 'bounce')
				OR EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.type = 'hard_bounce'))`, &n.HardBounce},
			{"unsubscribed", `(SELECT status FROM consents k WHERE k.contact_id = c.id AND k.purpose = 'email_marketing'
				ORDER BY recorded_at DESC, id DESC LIMIT 1) = 'withdrawn'`, &n.Unsubscribed},
			{"inactive", `c.created_at < $1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.occurred_at >= $1)`, &n.Inactive},
		} {
			var ids []string
			err := tx.SelectContext(ctx, &ids, `WITH picked AS (
					UPDATE contacts c SET status = 'archived' WHERE c.status = 'active' AND `+r.where+` AND $1::timestamptz IS NOT NULL
					RETURNING c.id)
				INSERT INTO contacts_archive (contact_id, reason) SELECT id, '`+r.reason+`' FROM picked
				ON CONFLICT (contact_id) DO UPDATE SET reason = EXCLUDED.reason, archived_at = now(), restored_at = NULL
				RETURNING contact_id::text`, before)
			if err != nil {
				return fmt.Errorf("archive %s: %w", r.reason, err)
			}
			*r.count = len(ids)
			n.IDs = append(n.IDs, ids...)
		}
		return refreshKeys(ctx, tx, n.IDs) // archived contacts are no candidates
	})
	return n, err
}

// RestoreContact brings an archived contact back.
func (s *Store) RestoreContact(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'active' WHERE id = $1 AND status = 'archived'`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kith.Errorf(kith.CodeNotFound, "no archived contact %q", id)
		}
		if _, err = tx.ExecContext(ctx, `UPDATE contacts_archive SET restored_at = now() WHERE contact_id = $1`, id); err != nil {
			return err
		}
		return refreshKeys(ctx, tx, []string{id})
	})
}
