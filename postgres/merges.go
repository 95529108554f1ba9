package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// mergeSnapshot is what a merge record keeps to undo it.
type mergeSnapshot struct {
	Merged     kith.Contact    `json:"merged"`
	Identities []kith.Identity `json:"identities"`
	Survivor   kith.Contact    `json:"survivor"` // before the merge
}

// MergeContacts implements kith.MergeStore.
func (s *Store) MergeContacts(ctx context.Context, m kith.Merge) ([]int64, error) {
	var ids []int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, identityLock); err != nil {
			return err
		}
		survivor, err := contactForUpdate(ctx, tx, m.SurvivorID)
		if err != nil {
			return err
		}
		before := survivor
		before.Fields = maps.Clone(survivor.Fields)
		for _, id := range m.MergedIDs {
			if id == m.SurvivorID {
				continue
			}
			var status string
			var into *string
			if err := tx.QueryRowContext(ctx, `SELECT status, merged_into::text FROM contacts WHERE id = $1 FOR UPDATE`, id).Scan(&status, &into); err != nil {
				return fmt.Errorf("merged contact %s: %w", id, err)
			}
			if status == "merged" && into != nil && *into == m.SurvivorID {
				continue // applied before: a retry
			}
			if status != "active" {
				return kith.Errorf(kith.CodeConflict, "contact %s is %s and cannot be merged", id, status)
			}
			merged, err := contactForUpdate(ctx, tx, id)
			if err != nil {
				return err
			}
			var idents []kith.Identity
			if err := tx.SelectContext(ctx, &idents, `SELECT kind, namespace, value FROM identities WHERE contact_id = $1 ORDER BY kind, namespace, value`, id); err != nil {
				return err
			}
			snap, err := json.Marshal(mergeSnapshot{Merged: merged, Identities: idents, Survivor: before})
			if err != nil {
				return err
			}
			var mid int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO merges (survivor_id, merged_id, score, reason, actor, snapshot)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, m.SurvivorID, id, m.Score, m.Reason, m.Actor, string(snap)).Scan(&mid); err != nil {
				return fmt.Errorf("record merge: %w", err)
			}
			ids = append(ids, mid)
			if _, err := tx.ExecContext(ctx, `UPDATE identities SET contact_id = $2 WHERE contact_id = $1`, id, m.SurvivorID); err != nil {
				return err
			}
			for _, table := range []string{"events", "form_submissions", "orders", "tickets", "consents", "outbox"} {
				if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET contact_id = $2 WHERE contact_id = $1`, id, m.SurvivorID); err != nil {
					return fmt.Errorf("move %s: %w", table, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'merged', merged_into = $2, updated_at = now() WHERE id = $1`, id, m.SurvivorID); err != nil {
				return err
			}
		}
		if len(m.Golden) > 0 && len(ids) > 0 {
			survivor.Fields = maps.Clone(m.Golden)
			survivor.UpdatedAt = s.now().UTC()
			return writeContacts(ctx, tx, []*kith.Contact{&survivor})
		}
		return nil
	})
	return ids, err
}

// Unmerge implements kith.MergeStore. Only the survivor's latest merge that is
// still in force can be undone (undo later ones first); rows that moved to the
// survivor since stay with it.
func (s *Store) Unmerge(ctx context.Context, mergeID int64, actor string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var survivorID, mergedID string
		var raw []byte
		var undone *string
		err := tx.QueryRowContext(ctx, `SELECT survivor_id::text, merged_id::text, snapshot, undone_at::text FROM merges WHERE id = $1 FOR UPDATE`, mergeID).
			Scan(&survivorID, &mergedID, &raw, &undone)
		if err != nil {
			return kith.Errorf(kith.CodeNotFound, "no merge %d", mergeID)
		}
		if undone != nil {
			return nil // undone before: a retry
		}
		var later int
		if err := tx.GetContext(ctx, &later, `SELECT count(*) FROM merges WHERE survivor_id = $1 AND id > $2 AND undone_at IS NULL`, survivorID, mergeID); err != nil {
			return err
		}
		if later > 0 {
			return kith.Errorf(kith.CodeConflict, "merge %d has %d later merges into the same contact: undo those first", mergeID, later)
		}
		var snap mergeSnapshot
		if err := json.Unmarshal(raw, &snap); err != nil {
			return err
		}
		var values []string
		var kinds, namespaces []string
		for _, id := range snap.Identities {
			kinds, namespaces, values = append(kinds, string(id.Kind)), append(namespaces, id.Namespace), append(values, id.Value)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identities i SET contact_id = $1
			FROM unnest($2::text[], $3::text[], $4::text[]) AS t(kind, namespace, value)
			WHERE i.kind = t.kind AND i.namespace = t.namespace AND i.value = t.value`,
			mergedID, pq.Array(kinds), pq.Array(namespaces), pq.Array(values)); err != nil {
			return fmt.Errorf("restore identities: %w", err)
		}
		merged, survivor := snap.Merged, snap.Survivor
		now := s.now().UTC()
		merged.UpdatedAt, survivor.UpdatedAt = now, now
		if err := writeContacts(ctx, tx, []*kith.Contact{&merged, &survivor}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'active', merged_into = NULL WHERE id = $1`, mergedID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE merges SET undone_at = now(), reason = reason || ' (undone by ' || $2 || ')' WHERE id = $1`, mergeID, actor)
		return err
	})
}

func orderedPair(a, b string) (string, string) {
	if a > b {
		return b, a
	}
	return a, b
}

// QueueReview implements kith.MergeStore.
func (s *Store) QueueReview(ctx context.Context, pairs []kith.ReviewPair) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, p := range pairs {
			a, b := orderedPair(p.A, p.B)
			if _, err := tx.ExecContext(ctx, `INSERT INTO merge_reviews (a_id, b_id, probability) VALUES ($1, $2, $3)
				ON CONFLICT (a_id, b_id) DO UPDATE SET probability = EXCLUDED.probability WHERE merge_reviews.status = 'pending'`,
				a, b, p.Probability); err != nil {
				return fmt.Errorf("queue review: %w", err)
			}
		}
		return nil
	})
}

// DecideReview implements kith.MergeStore.
func (s *Store) DecideReview(ctx context.Context, a, b string, merge bool, actor string) error {
	a, b = orderedPair(a, b)
	status := "keep_apart"
	if merge {
		status = "merge"
	}
	res, err := s.db.ExecContext(ctx, `UPDATE merge_reviews SET status = $3, decided_by = $4, decided_at = now() WHERE a_id = $1 AND b_id = $2`,
		a, b, status, actor)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kith.Errorf(kith.CodeNotFound, "no review of that pair")
	}
	return nil
}

// ReviewDecisions implements kith.MergeStore.
func (s *Store) ReviewDecisions(ctx context.Context) (map[[2]string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT a_id::text, b_id::text, status = 'merge' FROM merge_reviews WHERE status <> 'pending'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]string]bool{}
	for rows.Next() {
		var a, b string
		var merge bool
		if err := rows.Scan(&a, &b, &merge); err != nil {
			return nil, err
		}
		out[[2]string{a, b}] = merge
	}
	return out, rows.Err()
}

// ActiveContacts returns every active contact, oldest first.
func (s *Store) ActiveContacts(ctx context.Context) ([]kith.Contact, error) {
	return s.contacts(ctx, `WHERE c.status = 'active' ORDER BY c.created_at, c.id`)
}

// contacts returns the contacts a WHERE … ORDER BY … clause selects.
func (s *Store) contacts(ctx context.Context, where string, args ...any) ([]kith.Contact, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+selectContact+` FROM contacts c `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kith.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PendingReviews returns up to limit pairs waiting for a decision, the most
// likely matches first.
func (s *Store) PendingReviews(ctx context.Context, limit int) ([]kith.ReviewPair, error) {
	var out []kith.ReviewPair
	err := s.db.SelectContext(ctx, &out, `SELECT a_id::text AS a, b_id::text AS b, probability FROM merge_reviews
		WHERE status = 'pending' ORDER BY probability DESC, a_id, b_id LIMIT $1`, limit)
	return out, err
}
