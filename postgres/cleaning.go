package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kithhq/kith"
)

// ContactsAfter returns up to limit active contacts with ids after the cursor, in
// id order: the cleaning's batches.
func (s *Store) ContactsAfter(ctx context.Context, after string, limit int) ([]kith.Contact, error) {
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	return s.contacts(ctx, `WHERE c.status = 'active' AND c.id > $1 ORDER BY c.id LIMIT $2`, after, limit)
}

// CleanContact writes a contact's cleaned fields and completeness, unless the
// contact changed since it was read (ingestion runs meanwhile): then it returns
// false and the next run sees the new version.
func (s *Store) CleanContact(ctx context.Context, c kith.Contact, fields map[kith.Field]kith.Value, completeness int) (bool, error) {
	written := false
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var updated time.Time
		if err := tx.GetContext(ctx, &updated, `SELECT updated_at FROM contacts WHERE id = $1 FOR UPDATE`, c.ID); err != nil {
			return err
		}
		if !updated.Equal(c.UpdatedAt) {
			return nil
		}
		if fields != nil {
			c.Fields = fields
			c.UpdatedAt = s.now().UTC()
			if err := writeContacts(ctx, tx, []*kith.Contact{&c}); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE contacts SET completeness = $2 WHERE id = $1 AND completeness IS DISTINCT FROM $2`, c.ID, completeness)
		written = err == nil
		return err
	})
	return written, err
}

// ArchiveContacts archives active contacts that withdrew email marketing, that
// hard-bounced, or that showed no engagement (no event) since before and were
// created before it. Each is archived once, under the first reason that applies.
func (s *Store) ArchiveContacts(ctx context.Context, before time.Time) (kith.ArchiveCounts, error) {
	var n kith.ArchiveCounts
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, r := range []struct {
			reason string
			where  string
			count  *int
		}{
			{"unsubscribed", `(SELECT status FROM consents k WHERE k.contact_id = c.id AND k.purpose = 'email_marketing'
				ORDER BY recorded_at DESC, id DESC LIMIT 1) = 'withdrawn'`, &n.Unsubscribed},
			{"hard_bounce", `EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.type = 'hard_bounce')`, &n.HardBounce},
			{"inactive", `c.created_at < $1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.occurred_at >= $1)`, &n.Inactive},
		} {
			res, err := tx.ExecContext(ctx, `WITH picked AS (
					UPDATE contacts c SET status = 'archived' WHERE c.status = 'active' AND `+r.where+` AND $1::timestamptz IS NOT NULL
					RETURNING c.id)
				INSERT INTO contacts_archive (contact_id, reason) SELECT id, '`+r.reason+`' FROM picked
				ON CONFLICT (contact_id) DO UPDATE SET reason = EXCLUDED.reason, archived_at = now(), restored_at = NULL`, before)
			if err != nil {
				return fmt.Errorf("archive %s: %w", r.reason, err)
			}
			rows, _ := res.RowsAffected()
			*r.count = int(rows)
		}
		return nil
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
		_, err = tx.ExecContext(ctx, `UPDATE contacts_archive SET restored_at = now() WHERE contact_id = $1`, id)
		return err
	})
}
